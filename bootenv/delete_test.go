package bootenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type deleteCase struct {
	name   string
	st     *Status
	image  string
	forget bool
	want   string // in the plan's What, or in the error
}

// TestPlanDelete: drd delete refuses the booted and the activated image
// (and one on trial), wipes a disk, removes a file; drd forget is only for
// an image the records name that is not there.
func TestPlanDelete(t *testing.T) {
	booted := &Image{Record: Record{Name: "sysimage_000", ID: "b"}, Disk: "/dev/vda", Booted: true}
	booted.FileSystems = []FileSystem{{MountPoint: "/"}}
	disk := &Image{Record: Record{Name: "sysimage_001", ID: "c1", Target: "/dev/vdb", FileSystems: []FileSystem{{MountPoint: "/", VG: "drd_vg0"}}}, Disk: "/dev/vdc"}
	file := &Image{Record: Record{Name: "sysimage_002", ID: "c2", Target: "/srv/c.img"}, ImageFile: "/srv/c.img"}
	loopDisk := &Image{Record: Record{Name: "sysimage_004", ID: "c4", Target: "/dev/loop3"}, Disk: "/dev/loop3", ImageFile: "/tmp/t.img"}
	gone := &Image{Record: Record{Name: "sysimage_003", ID: "c3", Target: "/srv/gone.img"}, Missing: "its image file /srv/gone.img is gone"}
	st := func(activated string, boot *BootState) *Status {
		return &Status{Booted: booted, Activated: activated, Boot: boot, Images: []*Image{booted, disk, file, loopDisk}, Missing: []*Image{gone}}
	}
	tests := []deleteCase{
		{"a disk", st("sysimage_000", nil), "sysimage_001", false, "delete sysimage_001: remove its volume group drd_vg0, wipe the signatures and partition table of /dev/vdc"},
		{"by its disk now", st("sysimage_000", nil), "/dev/vdc", false, "wipe the signatures and partition table of /dev/vdc"},
		{"an image file", st("sysimage_000", nil), "sysimage_002", false, "delete sysimage_002: remove its image file /srv/c.img and its records"},
		{"a loop device given as the disk", st("sysimage_000", nil), "sysimage_004", false, "wipe the signatures and partition table of /dev/loop3"},
		{"the booted image", st("sysimage_000", nil), "sysimage_000", false, "error: sysimage_000 is the booted image"},
		{"the activated image", st("sysimage_001", &BootState{Next: "sysimage_001"}), "sysimage_001", false, "error: sysimage_001 is activated: the next boot uses it; run drd deactivate first"},
		{"the trial image", st("sysimage_002", &BootState{Next: "sysimage_000", Trial: "sysimage_002", Tries: 2}), "sysimage_002", false, "error: sysimage_002 is activated"},
		{"no name", st("sysimage_000", nil), "", false, "error: name the image"},
		{"no such image", st("sysimage_000", nil), "sysimage_009", false, "error: no image sysimage_009; the inactive images are sysimage_001 (on /dev/vdc)"},
		{"not there, by delete", st("sysimage_000", nil), "sysimage_003", false, "forget sysimage_003 (not present: /srv/gone.img)"},
		{"not there, by forget", st("sysimage_000", nil), "sysimage_003", true, "forget sysimage_003 (not present: /srv/gone.img): remove it from the booted image's records"},
		{"forget of one that is there", st("sysimage_000", nil), "sysimage_002", true, "error: sysimage_002 is there (on /srv/c.img): drd forget is for an image whose disk or image file is gone; drd delete sysimage_002"},
	}
	// Not found, but its file is there (another system's image now, or
	// one the scan could not read): never removed on the records' word.
	there := filepath.Join(t.TempDir(), "there.img")
	os.WriteFile(there, nil, 0o600)
	odd := &Image{Record: Record{Name: "sysimage_005", ID: "c5", Target: there}, Missing: "its image file holds no image of this system now"}
	oddSt := &Status{Booted: booted, Images: []*Image{booted}, Missing: []*Image{odd}}
	tests = append(tests, deleteCase{"not found, its file there", oddSt, "sysimage_005", false, "error: sysimage_005: its image file " + there + " is there but shows no image"},
		deleteCase{"not found, its file there, forgotten", oddSt, "sysimage_005", true, "forget sysimage_005"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanDelete(tt.st, tt.image, tt.forget)
			got := ""
			if err != nil {
				got = "error: " + err.Error()
			} else {
				got = p.What()
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

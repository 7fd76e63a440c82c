package clone

import (
	"slices"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
)

// The layout of the e2e LVM machine: /dev/vda with a BIOS boot
// partition, the ESP, /boot and a PV of sysvg holding / and /var.
func retiredFixture(state bootenv.State) (*bootenv.Status, bootenv.DeviceTable, *bootenv.LVM) {
	booted := &bootenv.Image{Record: bootenv.Record{Name: "sysimage_001", State: bootenv.Good}, Booted: true, Disk: "/dev/vdc"}
	old := &bootenv.Image{Record: bootenv.Record{Name: "sysimage_000", State: state, FileSystems: []bootenv.FileSystem{
		{MountPoint: "/", UUID: "root-uuid", VG: "sysvg", LV: "root"},
		{MountPoint: "/boot", UUID: "boot-uuid"},
		{MountPoint: "/boot/efi", UUID: "ABCD-1234"},
		{MountPoint: "/var", UUID: "var-uuid", VG: "sysvg", LV: "var"},
	}}}
	st := &bootenv.Status{Booted: booted, Images: []*bootenv.Image{booted, old}}
	devs := bootenv.DeviceTable{
		{Path: "/dev/vda", Disk: "/dev/vda"},
		{Path: "/dev/vda1", Disk: "/dev/vda", Partition: 1},
		{Path: "/dev/vda2", Disk: "/dev/vda", Partition: 2, FSType: "vfat", ID: bootenv.DevID{UUID: "abcd-1234"}},
		{Path: "/dev/vda3", Disk: "/dev/vda", Partition: 3, FSType: "ext4", ID: bootenv.DevID{UUID: "boot-uuid"}},
		{Path: "/dev/vda4", Disk: "/dev/vda", Partition: 4, FSType: "LVM2_member"},
		{Path: "/dev/vdb", Disk: "/dev/vdb"},
		{Path: "/dev/vdb1", Disk: "/dev/vdb", Partition: 1, FSType: "ext4", ID: bootenv.DevID{UUID: "home-uuid", Label: "home"}},
		{Path: "/dev/vdd", Disk: "/dev/vdd", FSType: "LVM2_member"},
	}
	lvm := &bootenv.LVM{
		VGs: []bootenv.VolumeGroup{{Name: "sysvg"}, {Name: "datavg"}},
		LVs: []bootenv.LogicalVolume{{VG: "sysvg", Name: "root"}, {VG: "sysvg", Name: "var"}, {VG: "datavg", Name: "data"}},
		PVs: []bootenv.PhysicalVolume{{Path: "/dev/vda4", VG: "sysvg"}, {Path: "/dev/vdd", VG: "datavg"}},
	}
	return st, devs, lvm
}

// retiredOnly accepts a disk that holds a retired image and nothing else,
// and names anything else it holds: another partition, another LV in the
// image's VG, the VG spanning another disk, another VG's PV.
func TestRetiredOnly(t *testing.T) {
	for _, tt := range []struct {
		name  string
		state bootenv.State
		edit  func(devs *bootenv.DeviceTable, lvm *bootenv.LVM)
		disk  string
		image string
		other []string
	}{
		{"retired, nothing else", bootenv.Retired, nil, "/dev/vda", "sysimage_000", nil},
		{"not retired", bootenv.Booted, nil, "/dev/vda", "", nil},
		{"another disk", bootenv.Retired, nil, "/dev/vdb", "", nil},
		{"another partition", bootenv.Retired, func(d *bootenv.DeviceTable, _ *bootenv.LVM) {
			*d = append(*d, bootenv.BlockDev{Path: "/dev/vda5", Disk: "/dev/vda", Partition: 5, FSType: "xfs", ID: bootenv.DevID{UUID: "x", Label: "data"}})
		}, "/dev/vda", "sysimage_000", []string{"partition 5 (xfs, label data)"}},
		{"another LV in its VG", bootenv.Retired, func(_ *bootenv.DeviceTable, l *bootenv.LVM) {
			l.LVs = append(l.LVs, bootenv.LogicalVolume{VG: "sysvg", Name: "srv"})
		}, "/dev/vda", "sysimage_000", []string{"logical volume sysvg/srv, not sysimage_000's"}},
		{"its VG spans another disk", bootenv.Retired, func(_ *bootenv.DeviceTable, l *bootenv.LVM) {
			l.PVs = append(l.PVs, bootenv.PhysicalVolume{Path: "/dev/vdd", VG: "sysvg"})
		}, "/dev/vda", "sysimage_000", []string{"volume group sysvg also lives on /dev/vdd"}},
		{"a PV of another VG", bootenv.Retired, func(_ *bootenv.DeviceTable, l *bootenv.LVM) {
			l.PVs[0].VG = "datavg"
		}, "/dev/vda", "sysimage_000", []string{"partition 4 (LVM2_member) of volume group datavg"}},
		{"a file system on the whole disk", bootenv.Retired, func(d *bootenv.DeviceTable, _ *bootenv.LVM) {
			(*d)[0].FSType = "ext4"
		}, "/dev/vda", "sysimage_000", []string{"a ext4 file system on the whole disk"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, devs, lvm := retiredFixture(tt.state)
			if tt.edit != nil {
				tt.edit(&devs, lvm)
			}
			got := retiredOnly(tt.disk, st, devs, lvm)
			if got.image != tt.image || !slices.Equal(got.other, tt.other) {
				t.Errorf("retiredOnly(%s) = %q, other %q; want %q, other %q", tt.disk, got.image, got.other, tt.image, tt.other)
			}
			if got.image != "" && len(got.other) == 0 && !slices.Equal(got.vgs, []string{"sysvg"}) {
				t.Errorf("vgs %q, want [sysvg]", got.vgs)
			}
		})
	}
}

// checkTarget takes a disk that holds a retired image and nothing else
// without -x overwrite=true; with something else too, it names both.
func TestCheckTargetRetired(t *testing.T) {
	f := targetFacts{path: "/dev/vda", isBlock: true, exists: true, disk: "/dev/vda", wholeDisk: "/dev/vda", size: 8 << 30, signature: "gpt partition table"}
	f.retired = retiredOnDisk{image: "sysimage_000"}
	if err := checkTarget(f, &bootenv.Layout{}, 1<<30, false); err != nil {
		t.Errorf("a retired image's disk: %v", err)
	}
	f.retired.other = []string{"partition 5 (xfs, label data)"}
	err := checkTarget(f, &bootenv.Layout{}, 1<<30, false)
	want := "target /dev/vda holds the retired image sysimage_000, but also partition 5 (xfs, label data): to overwrite all of it, run again with -x overwrite=true"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if err := checkTarget(f, &bootenv.Layout{}, 1<<30, true); err != nil {
		t.Errorf("with overwrite: %v", err)
	}
	f.retired = retiredOnDisk{}
	if err := checkTarget(f, &bootenv.Layout{}, 1<<30, false); err == nil || !strings.Contains(err.Error(), "carries data") {
		t.Errorf("no retired image: %v", err)
	}
}

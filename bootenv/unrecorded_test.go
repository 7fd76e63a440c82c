package bootenv

import (
	"strings"
	"testing"
	"time"
)

func TestUnrecordedClones(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	booted := &Record{Name: "sysimage_000", ID: "aaaa", System: "aaaa", History: []Event{
		{Time: t0, Action: "clone", Result: "started", Detail: "sysimage_001 on /srv/c.img", Image: "1111"},
		{Time: t0.Add(time.Hour), Action: "clone", Result: "started", Detail: "sysimage_001 on /dev/vdc", Image: "2222"},
		{Time: t0.Add(2 * time.Hour), Action: "clone", Result: "failed", Detail: "sysimage_001 on /dev/vdc: mkfs failed", Image: "2222"},
		{Time: t0.Add(3 * time.Hour), Action: "clone", Result: "succeeded", Detail: "sysimage_001 on /dev/vde", Image: "3333"},
		{Time: t0.Add(4 * time.Hour), Action: "clone", Result: "started", Detail: "sysimage_001 on /dev/vdf", Image: "4444"},
		{Time: t0, Action: "mount", Result: "succeeded", Detail: "sysimage_001"},
	}}
	devs := DeviceTable{
		{Path: "/dev/loop3", Disk: "/dev/loop3", BackingFile: "/srv/c.img"},
		{Path: "/dev/loop3p1", Disk: "/dev/loop3", Partition: 1, ID: DevID{PartUUID: "1111", PartLabel: "drd-sysimage_001-bios"}}, // not an anchor
		{Path: "/dev/loop3p3", Disk: "/dev/loop3", Partition: 3, ID: DevID{PartUUID: "1111", PartLabel: "drd-sysimage_001-root"}},
		{Path: "/dev/vdc3", Disk: "/dev/vdc", Partition: 3, FSType: "LVM2_member", ID: DevID{PartUUID: "2222", PartLabel: "drd-sysimage_001-lvm"}},
		{Path: "/dev/vdd2", Disk: "/dev/vdd", Partition: 2, ID: DevID{PartUUID: "9999", PartLabel: "drd-sysimage_001-root"}}, // another system's
		{Path: "/dev/vde2", Disk: "/dev/vde", Partition: 2, FSType: "ext4", ID: DevID{PartUUID: "3333", PartLabel: "drd-sysimage_001-root"}},
		{Path: "/dev/vdf2", Disk: "/dev/vdf", Partition: 2, ID: DevID{PartUUID: "4444", PartLabel: "data"}}, // relabelled since
	}
	found := []*Image{{Record: Record{Name: "sysimage_001", ID: "3333"}}} // read from its record

	for _, tt := range []struct {
		name string
		held bool
		want []string // name disk file target state, each
	}{
		{"no drd running", false, []string{"sysimage_001 /dev/loop3 /srv/c.img /srv/c.img broken", "sysimage_001 /dev/vdc  /dev/vdc broken"}},
		{"a clone running now", true, []string{"sysimage_001 /dev/loop3 /srv/c.img /srv/c.img cloning", "sysimage_001 /dev/vdc  /dev/vdc broken"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := unrecordedClones(devs, booted, found, tt.held)
			var short []string
			for _, img := range got {
				short = append(short, strings.Join([]string{img.Name, img.Disk, img.ImageFile, img.Target, string(img.State)}, " "))
				if img.System != "aaaa" || img.Origin != "aaaa" {
					t.Errorf("%s: system %q origin %q, want the booted image's", img.ID, img.System, img.Origin)
				}
				if img.State == Broken && !strings.Contains(img.Reason, "run drd clone -t "+img.Target+" -x overwrite=true") {
					t.Errorf("%s: reason %q does not say what to do", img.ID, img.Reason)
				}
				if len(img.History) != 1 || img.History[0].Image != img.ID || !img.Created.Equal(img.History[0].Time) {
					t.Errorf("%s: history %+v created %v, want its last clone event", img.ID, img.History, img.Created)
				}
			}
			if strings.Join(short, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("unrecordedClones() =\n%s\nwant\n%s", strings.Join(short, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

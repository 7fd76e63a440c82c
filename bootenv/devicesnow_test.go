package bootenv

import (
	"strings"
	"testing"
	"time"
)

// TestDevicesNow: a file system's device is where the scan finds it now
// (by UUID), not the device of clone time; none when no device shows it
// or when it is on a loop device the scan attached only while it looked.
func TestDevicesNow(t *testing.T) {
	devs := DeviceTable{
		{Path: "/dev/loop9p3", Disk: "/dev/loop9", ID: DevID{UUID: "root-uuid"}},
		{Path: "/dev/sdc1", Disk: "/dev/sdc", ID: DevID{UUID: "ESP-1"}},
		{Path: "/dev/loop5p2", Disk: "/dev/loop5", ID: DevID{UUID: "file-root"}},
	}
	img := &Image{Record: Record{Name: "sysimage_001", FileSystems: []FileSystem{
		{MountPoint: "/", Device: "/dev/loop3p3", UUID: "root-uuid"},
		{MountPoint: "/boot/efi", Device: "/dev/sdb1", UUID: "ESP-1"},
		{MountPoint: "/boot", Device: "/dev/sdb2", UUID: "gone"},
		{MountPoint: "/var", Device: "/dev/drd_vg/var", VG: "drd_vg", LV: "var", UUID: "lv-uuid"},
	}}, Disk: "/dev/loop9"}
	recorded := img.FileSystems
	devicesNow(img, devs, []string{"/dev/loop5"})
	got := []string{}
	for _, f := range img.FileSystems {
		got = append(got, f.MountPoint+"="+f.Device)
	}
	if want := "/=/dev/loop9p3 /boot/efi=/dev/sdc1 /boot= /var=/dev/drd_vg/var"; strings.Join(got, " ") != want {
		t.Errorf("devices %q, want %q", got, want)
	}
	if img.Disk != "/dev/loop9" || recorded[0].Device != "/dev/loop3p3" {
		t.Errorf("disk %s (want /dev/loop9); the record's slice changed: %+v", img.Disk, recorded[0])
	}
	file := &Image{Record: Record{FileSystems: []FileSystem{{MountPoint: "/", Device: "/dev/loop2p2", UUID: "file-root"}}}, Disk: "/dev/loop5", ImageFile: "/srv/c.img"}
	devicesNow(file, devs, []string{"/dev/loop5"})
	if file.Disk != "" || file.FileSystems[0].Device != "" {
		t.Errorf("an image file the scan attached while it looked: disk %q, device %q; want none", file.Disk, file.FileSystems[0].Device)
	}
}

// TestMissingClones: a clone the booted image's history made that no
// disk shows is listed, with what to do; not one found by id or on its
// target, one that failed, one whose target was cloned to again, or one
// deleted since.
func TestMissingClones(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	booted := &Record{Name: "sysimage_000", ID: "b", System: "b", History: []Event{
		{Time: at, Action: "clone", Result: "started", Detail: "sysimage_001 on /dev/vdb", Image: "c1"},
		{Time: at, Action: "clone", Result: "succeeded", Detail: "sysimage_001 on /dev/vdb", Image: "c1"},
		{Time: at, Action: "clone", Result: "succeeded", Detail: "sysimage_002 on /nonexistent/gone.img", Image: "c2"},
		{Time: at, Action: "clone", Result: "failed", Detail: "sysimage_003 on /dev/vdd: no space", Image: "c3"},
		{Time: at, Action: "clone", Result: "succeeded", Detail: "sysimage_004 on /dev/vde", Image: "c4"},
		{Time: at, Action: "clone", Result: "succeeded", Detail: "sysimage_004 on /dev/vde", Image: "c4b"},
		{Time: at, Action: "clone", Result: "succeeded", Detail: "sysimage_005 on /dev/vdf", Image: "c5"},
		{Time: at, Action: "delete", Result: "succeeded", Detail: "sysimage_005 on /dev/vdf", Image: "c5"},
		{Time: at, Action: "clone", Result: "succeeded", Detail: "sysimage_006 on /dev/vdg", Image: "c6"},
	}}
	found := []*Image{
		{Record: Record{Name: "sysimage_000", ID: "b"}, Booted: true},
		{Record: Record{Name: "sysimage_001", ID: "c1", Target: "/dev/vdb"}, Disk: "/dev/vdc"}, // its disk moved
		{Record: Record{Name: "sysimage_004", ID: "c4b", Target: "/dev/vde"}, Disk: "/dev/vde"},
	}
	var got []string
	for _, img := range missingClones(booted, found, nil) {
		got = append(got, img.Name+" "+img.Target)
		if !strings.Contains(img.Missing, "drd forget "+img.Name) || img.ID == "" || img.System != "b" {
			t.Errorf("%+v: does not say what to do, or lacks its identity", img)
		}
	}
	if want := "sysimage_002 /nonexistent/gone.img,sysimage_006 /dev/vdg"; strings.Join(got, ",") != want {
		t.Errorf("missing %q, want %q", got, want)
	}
	// A clone whose disk is there but cannot be read is a problem of the
	// scan, not missing; by its disk, its image file or its name.
	for _, p := range []Problem{
		{Kind: Unreadable, Device: "/dev/vdg2", Disk: "/dev/vdg"},
		{Kind: Unreadable, Device: "/dev/loop7p2", Disk: "/dev/loop7", File: "/nonexistent/gone.img"},
		{Kind: Unreadable, Device: "/dev/sdz2", Disk: "/dev/sdz", Image: "sysimage_002"},
	} {
		got = nil
		for _, img := range missingClones(booted, found, []Problem{p}) {
			got = append(got, img.Name)
		}
		if len(got) != 1 {
			t.Errorf("with %+v unreadable, missing %q, want one of sysimage_002, sysimage_006", p, got)
		}
	}
	stuck := []Problem{{Kind: StillMounted, Disk: "/dev/vdg", Image: "sysimage_006"}}
	if n := len(missingClones(booted, found, stuck)); n != 2 {
		t.Errorf("a file system left mounted hides a missing clone: %d missing, want 2", n)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/golden"
)

func day(h, m int) time.Time { return time.Date(2026, 11, 21, h, m, 3, 0, time.UTC) }

func fsList(disk string, efi bool) []bootenv.FileSystem {
	fs := []bootenv.FileSystem{
		{MountPoint: "/", Device: disk + "2", Type: "ext4", UUID: "0b1c6f1e-2d3a-4c5b-8e9f-" + disk[len(disk)-3:] + "000000001", Label: "root", Size: 19<<30 + 1<<29, Used: 3 << 30},
		{MountPoint: "/var", Device: disk + "3", Type: "xfs", UUID: "5d0e8a7b-1c2d-4e3f-9a8b-" + disk[len(disk)-3:] + "000000002", Size: 8 << 30},
	}
	if efi {
		fs = append([]bootenv.FileSystem{{MountPoint: "/boot/efi", Device: disk + "1", Type: "vfat", UUID: "ABCD-1234", Size: 512 << 20, Used: 6 << 20}}, fs...)
	}
	return fs
}

func orig000() *bootenv.Image {
	return &bootenv.Image{
		Record: bootenv.Record{Name: "sysimage_000", ID: "id-000", Created: day(9, 0), State: bootenv.Booted,
			FileSystems: fsList("/dev/vda", true),
			History:     []bootenv.Event{{Time: day(9, 0), Action: "clone", User: "root", Result: "succeeded", Detail: "to /dev/vdb"}}},
		Disk: "/dev/vda", Booted: true,
	}
}

func clone001() *bootenv.Image {
	return &bootenv.Image{
		Record: bootenv.Record{Name: "sysimage_001", ID: "id-001", Origin: "id-000", Created: day(9, 0), SourceDisk: "/dev/vda", Target: "/dev/vdb",
			State: bootenv.Complete, LastSync: day(9, 25), FileSystems: fsList("/dev/vdb", true),
			History: []bootenv.Event{
				{Time: day(9, 0), Action: "clone", User: "root", Result: "succeeded"},
				{Time: day(10, 15), Action: "runcmd", User: "admin", Result: "succeeded", Detail: "apt-get -y upgrade",
					Changes: []bootenv.PackageChange{{Package: "libssl3", From: "3.0.11-1", To: "3.0.15-1"}, {Package: "nginx-light", To: "1.22.1-9"}}},
			}},
		Disk: "/dev/vdb",
	}
}

func statusOneClone() *bootenv.Status {
	o, c := orig000(), clone001()
	return &bootenv.Status{Booted: o, Activated: "sysimage_000", Images: []*bootenv.Image{o, c}}
}

var statusCases = map[string]func() *bootenv.Status{
	"devices-now": devicesNow,
	"no-images":   func() *bootenv.Status { return &bootenv.Status{} },
	"booted-only": func() *bootenv.Status {
		o := orig000()
		o.FileSystems = fsList("/dev/vda", false)
		return &bootenv.Status{Booted: o, Images: []*bootenv.Image{o}}
	},
	"one-clone": statusOneClone,
	// The clone is booted and activated; the original is listed second.
	"booted-clone": func() *bootenv.Status {
		o, c := orig000(), clone001()
		o.Booted, c.Booted = false, true
		o.State, c.State = bootenv.Good, bootenv.Trial
		return &bootenv.Status{Booted: c, Activated: "sysimage_001", Images: []*bootenv.Image{c, o}}
	},
	// The clone passed its trial boot and was committed: the original
	// is retired.
	"committed": func() *bootenv.Status {
		st := goodClone()
		st.Images[1].State = bootenv.Retired
		return st
	},
	// The clone is activated on trial, two boots left.
	"trial": func() *bootenv.Status {
		st := statusOneClone()
		st.Images[1].State = bootenv.Activated
		st.Boot = &bootenv.BootState{Seq: 4, Next: "sysimage_000", Trial: "sysimage_001", Tries: 2}
		st.Activated = st.Boot.Target()
		return st
	},
	// The clone failed its trial boot; the original boots.
	"bad-clone": func() *bootenv.Status {
		st := statusOneClone()
		st.Images[1].State = bootenv.Bad
		st.Images[1].Reason = "health check /etc/drd/checks.d/50-web failed: exit status 1"
		st.Boot = &bootenv.BootState{Seq: 5, Next: "sysimage_000"}
		return st
	},
	// STAGEISL installed on both images, for one kernel.
	"isl": func() *bootenv.Status {
		st := statusOneClone()
		for _, img := range st.Images {
			st.ISL = append(st.ISL, bootenv.RecoveryOn{Image: img.Name,
				Recovery: bootenv.Recovery{Kernel: "6.1.0-28-amd64", Cmdline: "console=tty0 console=ttyS0,115200", Installed: day(12, 0)}})
		}
		return st
	},
	// STAGEISL on one image only, for another kernel than the other's.
	"isl-mixed": func() *bootenv.Status {
		st := statusOneClone()
		st.ISL = []bootenv.RecoveryOn{
			{Image: "sysimage_000", Recovery: bootenv.Recovery{Kernel: "6.1.0-30-amd64", Installed: day(12, 0)}},
			{Image: "sysimage_002", Recovery: bootenv.Recovery{Kernel: "6.1.0-28-amd64", Installed: day(11, 0)}},
		}
		return st
	},
	// A clone to an image file killed while it made its file systems,
	// before its record: found by its partition (bootenv's unrecordedClones).
	"interrupted-clone": func() *bootenv.Status {
		o := orig000()
		o.History = append(o.History, bootenv.Event{Time: day(11, 0), Action: "clone", User: "root", Result: "started", Detail: "sysimage_001 on /srv/clone.img", Image: "id-001"})
		c := &bootenv.Image{
			Record: bootenv.Record{Name: "sysimage_001", ID: "id-001", Origin: "id-000", Created: day(11, 0), Target: "/srv/clone.img", State: bootenv.Broken,
				Reason:  "the clone to /srv/clone.img was interrupted before it wrote its record; run drd clone -t /srv/clone.img -x overwrite=true again",
				History: o.History[len(o.History)-1:]},
			Disk: "/dev/loop3", ImageFile: "/srv/clone.img",
		}
		return &bootenv.Status{Booted: o, Activated: "sysimage_000", Images: []*bootenv.Image{o, c}}
	},
	// A second clone's root cannot be read (damaged), and a /boot the
	// scan read stays mounted: both are problems at the end.
	"problems": statusProblems,
	// Two clones, one in an image file, one broken, none activated.
	"two-clones": func() *bootenv.Status {
		o, c := orig000(), clone001()
		f := &bootenv.Image{
			Record: bootenv.Record{Name: "sysimage_002", ID: "id-002", Origin: "id-000", Created: day(11, 0), State: bootenv.Broken,
				FileSystems: []bootenv.FileSystem{{MountPoint: "/", Device: "/dev/loop3p2", Type: "ext4"}}},
			Disk: "/dev/loop3", ImageFile: "/srv/drd/clone.img",
		}
		return &bootenv.Status{Booted: o, Activated: "sysimage_009", Images: []*bootenv.Image{o, c, f}}
	},
}

// devicesNow: the scan found a clone's image file not attached (no
// disk, no devices), another clone's ESP on no device, and the records
// name a clone whose image file is gone.
func devicesNow() *bootenv.Status {
	o, c := orig000(), clone001()
	c.FileSystems[0].Device = ""
	f := &bootenv.Image{
		Record: bootenv.Record{Name: "sysimage_002", ID: "id-002", Origin: "id-000", Created: day(11, 0), Target: "/srv/b.img", State: bootenv.Complete,
			FileSystems: []bootenv.FileSystem{{MountPoint: "/", Type: "ext4", UUID: "u2"}}},
		ImageFile: "/srv/b.img",
	}
	gone := &bootenv.Image{
		Record:  bootenv.Record{Name: "sysimage_003", ID: "id-003", Origin: "id-000", Created: day(12, 0), Target: "/srv/gone.img"},
		Missing: "its image file /srv/gone.img is gone; if it is gone for good, drd forget sysimage_003 removes its records",
	}
	return &bootenv.Status{Booted: o, Activated: "sysimage_000", Images: []*bootenv.Image{o, c, f}, Missing: []*bootenv.Image{gone}}
}

func TestFormatStatusDevicesNow(t *testing.T) {
	got := formatStatus(devicesNow(), time.UTC, false)
	for _, want := range []string{
		"  /boot/efi    not present",
		"sysimage_002 on /srv/b.img:\n  MOUNT POINT  DEVICE        TYPE  SIZE  UUID\n  /            not attached",
		"Clone Disk:               /srv/gone.img (not present) (sysimage_003)",
		"Clone State:              not present (its image file /srv/gone.img is gone; if it is gone for good, drd forget sysimage_003 removes its records)",
		"sysimage_003 on /srv/gone.img: not present:",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("drd status does not say %q:\n%s", want, got)
		}
	}
}

// statusProblems: one clone read, another device that says it is a
// clone could not be read, and a /boot the scan mounted stays mounted.
func statusProblems() *bootenv.Status {
	st := statusOneClone()
	st.Problems = []bootenv.Problem{{
		Kind: bootenv.Unreadable, What: "/dev/vdc3 (sysimage_002 by its partition name)",
		Device: "/dev/vdc3", Disk: "/dev/vdc", Image: "sysimage_002",
		Why:    "reading /dev/vdc3 (through /dev/loop7): mounting /dev/loop7 read-only at /tmp/drd-scan-1: structure needs cleaning",
		Action: "check the file system (fsck -n /dev/vdc3) and the kernel's messages (dmesg); drd lists the image again once it can be read",
	}, {
		Kind: bootenv.StillMounted, What: "the /boot file system of sysimage_001",
		Why:    "/boot of sysimage_001: unmounting /dev/vdb2 from /tmp/drd-boot-2: device or resource busy",
		Action: "it stays mounted where the message says: unmount it (umount) once nothing uses it",
	}}
	return st
}

func TestFormatStatusProblems(t *testing.T) {
	got := formatStatus(statusProblems(), time.UTC, false)
	for _, want := range []string{
		"\nProblem with /dev/vdc3 (sysimage_002 by its partition name): reading /dev/vdc3 (through /dev/loop7): mounting /dev/loop7 read-only at /tmp/drd-scan-1: structure needs cleaning\n  What to do: check the file system (fsck -n /dev/vdc3)",
		"\nProblem with the /boot file system of sysimage_001: /boot of sysimage_001: unmounting /dev/vdb2",
		"sysimage_001 on /dev/vdb:\n", // the images read are listed as ever
	} {
		if !strings.Contains(got, want) {
			t.Errorf("drd status does not say %q:\n%s", want, got)
		}
	}
	code, stdout, _ := drd(t, &fake{status: statusProblems()}, t.TempDir(), "status", "--json")
	if code != 0 {
		t.Fatalf("drd status --json: exit %d", code)
	}
	var back struct {
		Problems []map[string]string `json:"problems"`
	}
	if err := json.Unmarshal([]byte(stdout), &back); err != nil || len(back.Problems) != 2 {
		t.Fatalf("--json problems: %v %+v", err, back)
	}
	if p := back.Problems[0]; p["kind"] != "unreadable" || p["device"] != "/dev/vdc3" || p["image"] != "sysimage_002" ||
		!strings.Contains(p["why"], "structure needs cleaning") || !strings.Contains(p["action"], "fsck") {
		t.Errorf("--json's first problem is %v", p)
	}
	if p := back.Problems[1]; p["kind"] != "still-mounted" || p["device"] != "" {
		t.Errorf("--json's second problem is %v", p)
	}
}

func TestFormatStatusGolden(t *testing.T) {
	for name, mk := range statusCases {
		for _, verbose := range []bool{false, true} {
			file := name + ".txt"
			if verbose {
				file = name + "-v.txt"
			}
			got := formatStatus(mk(), time.UTC, verbose)
			golden.Check(t, filepath.Join("testdata/status", file), []byte(got))
		}
	}
}

func TestStatusJSONGolden(t *testing.T) {
	code, stdout, _ := drd(t, &fake{status: statusCases["isl"]()}, t.TempDir(), "status", "--json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var back bootenv.Status
	if err := json.Unmarshal([]byte(stdout), &back); err != nil || len(back.Images) != 2 || back.Images[1].LastSync != day(9, 25) {
		t.Errorf("--json output does not read back: %v %+v", err, back)
	}
	if len(back.ISL) != 2 || back.ISL[1].Image != "sysimage_001" || back.ISL[1].Kernel != "6.1.0-28-amd64" {
		t.Errorf("--json has not STAGEISL on both images: %+v", back.ISL)
	}
	golden.Check(t, "testdata/status/isl.json", []byte(stdout))
}

func TestStatusCommandPrintsTable(t *testing.T) {
	code, stdout, stderr := drd(t, &fake{status: statusOneClone()}, t.TempDir(), "status")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	want, _ := os.ReadFile("testdata/status/one-clone.txt")
	if stdout != string(want) {
		t.Errorf("drd status printed\n%s\nwant\n%s", stdout, want)
	}
	if !bytes.Contains([]byte(stderr), []byte("* Scanning for system images")) {
		t.Errorf("no step on stderr")
	}
}

func TestOriginal(t *testing.T) {
	st := statusCases["booted-clone"]()
	if got := original(st); got.Name != "sysimage_000" {
		t.Errorf("original of booted-clone = %s, want sysimage_000", got.Name)
	}
	// Without an image cloned from nothing: the origin of another.
	a := &bootenv.Image{Record: bootenv.Record{Name: "a", ID: "A", Origin: "gone"}}
	b := &bootenv.Image{Record: bootenv.Record{Name: "b", ID: "B", Origin: "A"}}
	if got := original(&bootenv.Status{Booted: b, Images: []*bootenv.Image{b, a}}); got != a {
		t.Errorf("original = %v, want a", got.Name)
	}
	// Nothing to go by: the booted one.
	if got := original(&bootenv.Status{Booted: b, Images: []*bootenv.Image{b}}); got != b {
		t.Errorf("original = %v, want b", got.Name)
	}
}

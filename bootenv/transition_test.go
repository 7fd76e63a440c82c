package bootenv

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestPlanActivate(t *testing.T) {
	cur := BootState{Seq: 4, Next: "sysimage_000"}
	for _, tt := range []struct {
		name   string
		target string
		trial  bool
		tries  int
		want   BootState
		err    string
	}{
		{"lasting", "sysimage_001", false, 2, BootState{Seq: 5, Next: "sysimage_001"}, ""},
		{"trial", "sysimage_001", true, 3, BootState{Seq: 5, Next: "sysimage_000", Trial: "sysimage_001", Tries: 3}, ""},
		{"booted again", "sysimage_000", false, 2, BootState{Seq: 5, Next: "sysimage_000"}, ""},
		{"trial of the booted", "sysimage_000", true, 2, BootState{}, "booted image"},
		{"no tries", "sysimage_001", true, 0, BootState{}, "tries=0"},
		{"too many tries", "sysimage_001", true, MaxTries + 1, BootState{}, "tries="},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PlanActivate(cur, "sysimage_000", tt.target, tt.trial, tt.tries)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("PlanActivate = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if got := PlanDeactivate(BootState{Seq: 9, Next: "sysimage_000", Trial: "sysimage_001", Tries: 1}, "sysimage_000"); got != (BootState{Seq: 10, Next: "sysimage_000"}) {
		t.Errorf("PlanDeactivate = %+v", got)
	}
}

func TestAssess(t *testing.T) {
	trial := BootState{Seq: 5, Next: "sysimage_000", Trial: "sysimage_001", Tries: 1}
	for _, tt := range []struct {
		name      string
		cur       BootState
		have      bool
		booted    string
		write     *BootState
		checks    bool
		markState State
		markImage string
		reason    string
	}{
		{"no block", BootState{}, false, "sysimage_000", nil, false, "", "", ""},
		{"trial booted", trial, true, "sysimage_001", nil, true, Trial, "sysimage_001", "trial boot (1 tries left)"},
		{"trial used up", BootState{Seq: 5, Next: "sysimage_000", Trial: "sysimage_001", Tries: 0}, true, "sysimage_000",
			&BootState{Seq: 6, Next: "sysimage_000"}, false, Bad, "sysimage_001", "did not come up"},
		{"trial entry failed", trial, true, "sysimage_000",
			&BootState{Seq: 6, Next: "sysimage_000"}, false, Bad, "sysimage_001", "could not start it (1 tries left)"},
		{"target booted", BootState{Seq: 2, Next: "sysimage_001"}, true, "sysimage_001", nil, false, "", "sysimage_001", ""},
		{"target missing", BootState{Seq: 2, Next: "sysimage_000"}, true, "sysimage_001", nil, false, "", "sysimage_001", "could not be started"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := Assess(tt.cur, tt.have, tt.booted)
			if (a.Write == nil) != (tt.write == nil) || a.Write != nil && *a.Write != *tt.write {
				t.Errorf("write %+v, want %+v", a.Write, tt.write)
			}
			if a.RunChecks != tt.checks {
				t.Errorf("RunChecks = %v", a.RunChecks)
			}
			if tt.markImage == "" {
				if len(a.Marks) != 0 {
					t.Errorf("marks %+v, want none", a.Marks)
				}
				return
			}
			if len(a.Marks) != 1 || a.Marks[0].Image != tt.markImage || a.Marks[0].State != tt.markState ||
				!strings.Contains(a.Marks[0].Reason+a.Marks[0].Detail, tt.reason) {
				t.Errorf("marks %+v, want %s %s %q", a.Marks, tt.markImage, tt.markState, tt.reason)
			}
		})
	}
}

func TestTrialVerdict(t *testing.T) {
	cur := BootState{Seq: 7, Next: "sysimage_000", Trial: "sysimage_001", Tries: 1}
	next, m := PassTrial(cur, "sysimage_001")
	if next != (BootState{Seq: 8, Next: "sysimage_001"}) || m.State != Good {
		t.Errorf("PassTrial = %+v %+v", next, m)
	}
	next, m = FailTrial(cur, "sysimage_001", "health check x failed")
	if next != (BootState{Seq: 8, Next: "sysimage_000"}) || m.State != Bad || m.Reason != "health check x failed" {
		t.Errorf("FailTrial = %+v %+v", next, m)
	}
}

func TestCheckActivatable(t *testing.T) {
	for _, tt := range []struct {
		state State
		force bool
		ok    bool
	}{{Complete, false, true}, {Good, false, true}, {Broken, true, false}, {Cloning, false, false}, {Bad, false, false}, {Bad, true, true}} {
		err := CheckActivatable(&Image{Record: Record{Name: "sysimage_001", State: tt.state}}, tt.force)
		if (err == nil) != tt.ok {
			t.Errorf("%s force=%v: %v", tt.state, tt.force, err)
		}
	}
}

// TestCheckOnDisk: a clone in an image file is refused, with how to make
// it bootable, attached to a loop device or not; one on a disk (a loop
// device given as the target counts as one) is not.
func TestCheckOnDisk(t *testing.T) {
	for _, tt := range []struct {
		img  Image
		want string // "" for no refusal
	}{
		{Image{Record: Record{Name: "sysimage_001", Target: "/srv/clone.img"}, Disk: "/dev/loop3", ImageFile: "/srv/clone.img"}, "/srv/clone.img"},
		{Image{Record: Record{Name: "sysimage_001", Target: "clone.img"}}, "clone.img"},
		{Image{Record: Record{Name: "sysimage_001", Target: "/dev/vdb"}, Disk: "/dev/vdb"}, ""},
		{Image{Record: Record{Name: "sysimage_001", Target: "/dev/loop3"}, Disk: "/dev/loop3", ImageFile: "/tmp/t.img"}, ""},
		{Image{Record: Record{Name: "sysimage_000", Target: "/srv/clone.img"}, Booted: true}, ""},
	} {
		err := CheckOnDisk(&tt.img)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%+v: %v, want no refusal", tt.img, err)
		case tt.want != "" && err == nil:
			t.Errorf("%+v: not refused", tt.img)
		case tt.want != "":
			for _, w := range []string{"image file " + tt.want, "write the file to a disk", "virtual machine"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v: does not say %q", err, w)
				}
			}
			if !errors.Is(err, ErrNotActivatable) {
				t.Errorf("%v: not ErrNotActivatable", err)
			}
		}
	}
}

func TestNewestKernel(t *testing.T) {
	k, i := newestKernel([]string{"vmlinuz-6.1.0-9-amd64", "vmlinuz-6.1.0-28-amd64", "initrd.img-6.1.0-28-amd64", "initrd.img-6.1.0-9-amd64", "config-6.1.0-28-amd64", "System.map"})
	if k != "vmlinuz-6.1.0-28-amd64" || i != "initrd.img-6.1.0-28-amd64" {
		t.Errorf("newestKernel = %s %s", k, i)
	}
	if k, i := newestKernel([]string{"vmlinuz-5.10", "vmlinuz-5.9"}); k != "vmlinuz-5.10" || i != "" {
		t.Errorf("newestKernel = %s %s", k, i)
	}
	if got := kernelArgs("BOOT_IMAGE=/vmlinuz-6.1 root=UUID=x ro console=ttyS0,115200 panic=10 quiet drd.trial=sysimage_001"); got != "ro console=ttyS0,115200 quiet" {
		t.Errorf("kernelArgs = %q", got)
	}
}

func TestCheckFailure(t *testing.T) {
	err := fmt.Errorf("running %q: exit status 1\nthe web server\ndoes not answer", "/etc/drd/checks.d/50-web")
	if got := checkFailure(err); got != "(exit status 1): the web server does not answer" {
		t.Errorf("checkFailure = %q", got)
	}
	if got := checkFailure(errors.New("signal: killed")); got != "(signal: killed)" {
		t.Errorf("checkFailure = %q", got)
	}
}

// A kexec trial keeps the block (next: the original) and is known by
// drd.trial= on the kernel command line.
func TestAssessDirect(t *testing.T) {
	block := BootState{Seq: 4, Next: "sysimage_000"}
	t.Run("kexec trial booted", func(t *testing.T) {
		a := AssessDirect(Assess(block, true, "sysimage_001"), block, "sysimage_001", "sysimage_001", []string{"sysimage_001"})
		if !a.RunChecks || a.Write != nil {
			t.Fatalf("RunChecks %v, write %+v: want the checks and no block change", a.RunChecks, a.Write)
		}
		if len(a.Marks) != 1 || a.Marks[0].State != Trial || a.Marks[0].Image != "sysimage_001" || !strings.Contains(a.Marks[0].Detail, "stays sysimage_000") {
			t.Fatalf("marks %+v", a.Marks)
		}
		// Its checks pass: it becomes the target; they fail: the original stays.
		if next, mk := PassTrial(block, "sysimage_001"); next.Next != "sysimage_001" || mk.State != Good {
			t.Errorf("pass: %+v %+v", next, mk)
		}
		if next, mk := FailTrial(block, "sysimage_001", "check x failed"); next.Next != "sysimage_000" || next.Trial != "" || mk.State != Bad {
			t.Errorf("fail: %+v %+v", next, mk)
		}
	})
	t.Run("without the marker", func(t *testing.T) {
		a := AssessDirect(Assess(block, true, "sysimage_001"), block, "sysimage_001", "", nil)
		if a.RunChecks {
			t.Fatal("checks without a trial")
		}
	})
	t.Run("marker of another image", func(t *testing.T) {
		a := AssessDirect(Assess(block, true, "sysimage_000"), block, "sysimage_000", "sysimage_001", nil)
		if a.RunChecks {
			t.Fatal("checks for an image that did not boot")
		}
	})
	t.Run("kexec trial hung, firmware booted the original", func(t *testing.T) {
		a := AssessDirect(Assess(block, true, "sysimage_000"), block, "sysimage_000", "", []string{"sysimage_001"})
		if a.RunChecks || a.Write != nil {
			t.Fatalf("RunChecks %v, write %+v", a.RunChecks, a.Write)
		}
		var bad *Mark
		for i := range a.Marks {
			if a.Marks[i].Image == "sysimage_001" {
				bad = &a.Marks[i]
			}
		}
		if bad == nil || bad.State != Bad || !strings.Contains(bad.Reason, "sysimage_000 booted by the firmware") {
			t.Fatalf("marks %+v: want sysimage_001 bad", a.Marks)
		}
	})
	t.Run("GRUB trial is Assess's", func(t *testing.T) {
		trial := BootState{Seq: 5, Next: "sysimage_000", Trial: "sysimage_001", Tries: 1}
		a := AssessDirect(Assess(trial, true, "sysimage_001"), trial, "sysimage_001", "", []string{"sysimage_001"})
		if !a.RunChecks || len(a.Marks) != 1 || a.Marks[0].State != Trial {
			t.Fatalf("%+v", a)
		}
	})
}

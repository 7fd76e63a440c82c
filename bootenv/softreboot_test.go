package bootenv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/drd-linux/drd/internal/execrun"
)

// /run/nextroot must be free: no mount under it, absent or empty.
func TestNextRootRefusal(t *testing.T) {
	m := Machine{Root: t.TempDir()}
	if why := m.nextRootRefusal(nil); why != "" {
		t.Errorf("no /run/nextroot: refused: %s", why)
	}
	dir := filepath.Join(m.Root, NextRootDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if why := m.nextRootRefusal(nil); why != "" {
		t.Errorf("an empty /run/nextroot: refused: %s", why)
	}
	mounts := []MountInfo{{MountPoint: dir, Major: 8, Minor: 1}}
	if why := m.nextRootRefusal(mounts); !strings.Contains(why, "in use") {
		t.Errorf("a file system mounted at /run/nextroot: %q, want in use", why)
	}
	mustWrite(t, filepath.Join(dir, "etc/os-release"), "ID=debian\n", 0o644)
	if why := m.nextRootRefusal(nil); !strings.Contains(why, "not empty") {
		t.Errorf("a tree at /run/nextroot: %q, want not empty", why)
	}
}

func TestTrialFromMarker(t *testing.T) {
	for in, want := range map[string]string{
		"sysimage_001\n": "sysimage_001", "sysimage_002": "sysimage_002", "sysimage_003\nwatchdog\n": "sysimage_003",
		"": "", "../etc\n": "", "sysimage_001 sysimage_002": "",
	} {
		if got := TrialFromMarker(in); got != want {
			t.Errorf("TrialFromMarker(%q) = %q; want %q", in, got, want)
		}
	}
}

func FuzzTrialFromMarker(f *testing.F) {
	for _, s := range []string{"sysimage_001\n", "", "sysimage_001\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n := TrialFromMarker(s); n != "" && !imageNameRE().MatchString(n) {
			t.Errorf("TrialFromMarker(%q) = %q: no image name", s, n)
		}
	})
}

// A soft-reboot trial: no drd.trial= on the command line (the kernel
// stayed), the marker in /run names the image. The boot check runs its
// health checks, removes the marker, and a failure reboots by the
// firmware into the unchanged target.
func TestBootCheckSoftTrial(t *testing.T) {
	m, _ := unitMachine(t, trialRecord(), &BootState{Seq: 7, Next: "sysimage_000"})
	marker := filepath.Join(m.Root, SoftTrialPath)
	mustWrite(t, marker, "sysimage_001\n", 0o644)
	check := filepath.Join(m.Root, ChecksDir, "10-web")
	mustWrite(t, check, "#!/bin/sh\n", 0o755)
	run := &execrun.Fake{Out: map[string]string{"systemctl --no-block reboot": ""},
		Errs: map[string]error{check: errors.New(`running "` + check + "\": exit status 1\ndown")}}
	var out said
	if err := m.BootCheck(context.Background(), CheckOptions{Runner: run}, out.reporter()); err != nil {
		t.Fatalf("BootCheck: %v\n%s", err, &out)
	}
	if !slices.Contains(run.Ran, check) || !slices.Contains(run.Ran, "systemctl --no-block reboot") {
		t.Fatalf("a soft-reboot trial was not judged: ran %q\n%s", run.Ran, &out)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the marker stays after the boot check: %v", err)
	}
	blk, err := ReadBlock(filepath.Join(m.Root, BlockPath))
	if err != nil {
		t.Fatal(err)
	}
	if rec := readRec(t, m.Root); blk.Next != "sysimage_000" || rec.State != Bad {
		t.Errorf("after a failed soft-reboot trial: block %+v, state %s\n%s", blk, rec.State, &out)
	}
}

func TestTakeSoftTrial(t *testing.T) {
	m := Machine{Root: t.TempDir()}
	marker := filepath.Join(m.Root, SoftTrialPath)
	for content, want := range map[string]struct {
		name     string
		watchdog bool
	}{
		"sysimage_001\n":           {"sysimage_001", false},
		"sysimage_001\nwatchdog\n": {"sysimage_001", true},
		"../x\nwatchdog\n":         {"", false},
	} {
		mustWrite(t, marker, content, 0o644)
		name, wd := m.takeSoftTrial()
		if name != want.name || wd != want.watchdog {
			t.Errorf("marker %q: %q, %v; want %q, %v", content, name, wd, want.name, want.watchdog)
		}
		if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("marker %q stays after it was taken", content)
		}
	}
	if name, wd := m.takeSoftTrial(); name != "" || wd {
		t.Errorf("no marker: %q, %v", name, wd)
	}
}

// restartRecorder is a Switcher that records restarts and fails them
// with err.
type restartRecorder struct {
	Switcher
	log *[]string
	err error
}

func (r restartRecorder) Restart(ctx context.Context, s Switch) error {
	*r.log = append(*r.log, "restart "+string(s))
	return r.err
}

// A soft-reboot trial arms softdog just before the soft reboot; a
// refused soft reboot stops it again (else it resets the machine), and a
// watchdog that cannot be armed calls the soft reboot off.
func TestSwitchedWhenDoneArmsTheWatchdog(t *testing.T) {
	for _, tc := range []struct {
		armErr, restartErr error
		want               []string
		switched           bool
	}{
		{nil, nil, []string{"arm", "restart soft"}, true},
		{nil, errors.New("refused"), []string{"arm", "restart soft", "stop"}, false},
		{errors.New("no softdog"), nil, []string{"arm"}, false},
	} {
		var log []string
		done := false
		sw := switchedWhenDone{Switcher: restartRecorder{log: &log, err: tc.restartErr}, done: &done,
			arm:  func() error { log = append(log, "arm"); return tc.armErr },
			stop: func() { log = append(log, "stop") }}
		err := sw.Restart(context.Background(), SwitchSoft)
		if !slices.Equal(log, tc.want) || done != tc.switched || (err == nil) != tc.switched {
			t.Errorf("arm %v, restart %v: did %q, switched %v, err %v; want %q", tc.armErr, tc.restartErr, log, done, err, tc.want)
		}
	}
}

package bootenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/report"
)

// These tests run the boot-time pass, the boot configuration writer and
// STAGEISL's set below the VM, without root: the booted image is a tree
// under t.TempDir(), sysfs and /proc are fakes (one disk, drdunit0, that
// has no /dev node, so nothing probes a real device), commands go to
// execrun.Fake and UEFI variables to a DirVars.

// unitMachine is a machine whose booted root is a temporary tree with
// record rec (nil: none) and drd's block (nil: none), its root file
// system on the fake disk 250:7. runner is the Machine's (LVM) runner:
// a Fake that answers nothing, so any command fails the test's check.
func unitMachine(t *testing.T, rec *Record, block *BootState) (Machine, *execrun.Fake) {
	t.Helper()
	root, sys, proc := t.TempDir(), t.TempDir(), t.TempDir()
	for p, data := range map[string]string{
		filepath.Join(sys, "class/block/drdunit0/dev"):        "250:7\n",
		filepath.Join(sys, "class/block/drdunit0/size"):       "2097152\n",
		filepath.Join(proc, "self/mountinfo"):                 "30 1 250:7 / " + root + " rw,relatime shared:1 - ext4 /dev/drdunit0 rw\n",
		filepath.Join(proc, "cmdline"):                        "BOOT_IMAGE=/boot/vmlinuz-6.1.0-9-amd64 root=UUID=0ld ro quiet console=ttyS0,115200 panic=10\n",
		filepath.Join(root, "boot/vmlinuz-6.1.0-9-amd64"):     "old kernel",
		filepath.Join(root, "boot/vmlinuz-6.1.0-10-amd64"):    "new kernel",
		filepath.Join(root, "boot/initrd.img-6.1.0-10-amd64"): "initramfs",
	} {
		mustWrite(t, p, data, 0o644)
	}
	if err := os.MkdirAll(filepath.Join(root, "boot/grub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if rec != nil {
		if err := WriteRecord(root, rec); err != nil {
			t.Fatal(err)
		}
	}
	if block != nil {
		if err := WriteBlock(filepath.Join(root, BlockPath), *block); err != nil {
			t.Fatal(err)
		}
	}
	lvm := &execrun.Fake{}
	return Machine{Root: root, SysDir: sys, ProcDir: proc, Runner: lvm}, lvm
}

func mustWrite(t *testing.T, p, data string, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
}

// said collects what a command reports, one line each.
type said struct{ lines []string }

func (s *said) reporter() report.Reporter {
	return report.Func(func(format string, args ...any) { s.lines = append(s.lines, fmt.Sprintf(format, args...)) })
}

func (s *said) has(part string) bool {
	return slices.ContainsFunc(s.lines, func(l string) bool { return strings.Contains(l, part) })
}

func (s *said) String() string { return strings.Join(s.lines, "\n") }

func readRec(t *testing.T, root string) *Record {
	t.Helper()
	rec, err := ReadRecord(root)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func trialRecord() *Record {
	return &Record{Name: "sysimage_001", ID: "id-001", System: "sys-1", Origin: "id-000", State: Trial,
		FileSystems: []FileSystem{{MountPoint: "/", Type: "ext4", UUID: "0ld"}}}
}

// A trial boot whose second health check fails: the checks run in name
// order (hidden, non-executable and non-file entries skipped), the first
// failure stops them, the image is recorded bad with the check's words,
// and the machine reboots through the runner.
func TestBootCheckTrialFailsItsHealthCheck(t *testing.T) {
	for _, noReboot := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoReboot=%v", noReboot), func(t *testing.T) {
			m, lvm := unitMachine(t, trialRecord(), &BootState{Seq: 7, Next: "sysimage_000", Trial: "sysimage_001", Tries: 1})
			checks := filepath.Join(m.Root, ChecksDir)
			mustWrite(t, filepath.Join(checks, "20-web"), "#!/bin/sh\n", 0o755)
			mustWrite(t, filepath.Join(checks, "10-net"), "#!/bin/sh\n", 0o755)
			mustWrite(t, filepath.Join(checks, "30-late"), "#!/bin/sh\n", 0o755)
			mustWrite(t, filepath.Join(checks, ".05-hidden"), "#!/bin/sh\n", 0o755)
			mustWrite(t, filepath.Join(checks, "15-README"), "not a check\n", 0o644)
			if err := os.Mkdir(filepath.Join(checks, "12-dir"), 0o755); err != nil {
				t.Fatal(err)
			}
			run := &execrun.Fake{
				Out:  map[string]string{filepath.Join(checks, "10-net"): "", "systemctl --no-block reboot": ""},
				Errs: map[string]error{filepath.Join(checks, "20-web"): errors.New(`running "` + filepath.Join(checks, "20-web") + "\": exit status 3\nport 80:\n  refused")},
			}
			var out said
			err := m.BootCheck(context.Background(), CheckOptions{Runner: run, NoReboot: noReboot}, out.reporter())
			reason := "health check /etc/drd/checks.d/20-web failed (exit status 3): port 80: refused"
			want := []string{filepath.Join(checks, "10-net"), filepath.Join(checks, "20-web")}
			if noReboot {
				if err == nil || err.Error() != "sysimage_001 failed its trial boot: "+reason {
					t.Errorf("BootCheck = %v, want the failed trial named", err)
				}
			} else {
				if err != nil {
					t.Fatalf("BootCheck: %v\n%s", err, &out)
				}
				want = append(want, "systemctl --no-block reboot")
			}
			if !slices.Equal(run.Ran, want) {
				t.Errorf("ran %q, want %q", run.Ran, want)
			}
			if len(lvm.Ran) != 0 {
				t.Errorf("the scan ran %q", lvm.Ran)
			}
			rec := readRec(t, m.Root)
			if rec.State != Bad || rec.Reason != reason {
				t.Errorf("record: %s (%q), want bad (%q)", rec.State, rec.Reason, reason)
			}
			var events []string
			for _, e := range rec.History {
				events = append(events, e.Action+" "+e.Result)
			}
			if !slices.Equal(events, []string{"boot succeeded", "boot failed"}) {
				t.Errorf("history %q, want the trial boot, then its failure", events)
			}
			if !out.has("sysimage_001 failed its trial boot: " + reason + "; sysimage_000 boots next") {
				t.Errorf("no warning of the failed trial:\n%s", &out)
			}
		})
	}
}

// blockingRunner is a health check that does not end before its
// context does (or, for a command run without a deadline, 5 s).
type blockingRunner struct{ ran []string }

func (b *blockingRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	b.ran = append(b.ran, strings.Join(append([]string{name}, args...), " "))
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(5 * time.Second):
		return nil, errors.New("still running after 5 s")
	}
}

// A health check that outlives the timeout fails the trial, named, and
// the checks after it do not run.
func TestBootCheckHealthTimeout(t *testing.T) {
	m, _ := unitMachine(t, trialRecord(), &BootState{Seq: 7, Next: "sysimage_000", Trial: "sysimage_001", Tries: 2})
	checks := filepath.Join(m.Root, ChecksDir)
	mustWrite(t, filepath.Join(checks, "10-slow"), "#!/bin/sh\n", 0o755)
	mustWrite(t, filepath.Join(checks, "20-next"), "#!/bin/sh\n", 0o755)
	run := &blockingRunner{}
	var out said
	err := m.BootCheck(context.Background(), CheckOptions{Runner: run, NoReboot: true, HealthTimeout: 50 * time.Millisecond}, out.reporter())
	reason := "health check /etc/drd/checks.d/10-slow did not finish within 50ms"
	if err == nil || !strings.HasSuffix(err.Error(), reason) {
		t.Errorf("BootCheck = %v, want %q", err, reason)
	}
	if !slices.Equal(run.ran, []string{filepath.Join(checks, "10-slow")}) {
		t.Errorf("ran %q, want only 10-slow", run.ran)
	}
	if rec := readRec(t, m.Root); rec.State != Bad || rec.Reason != reason {
		t.Errorf("record: %s (%q), want bad (%q)", rec.State, rec.Reason, reason)
	}
}

// The activated image booted with no block written yet: it is recorded
// as booted, nothing runs, and a grub.cfg marked stale in an image that
// is not the machine's own root (--root) is left for its own boot.
func TestBootCheckActivatedImageBooted(t *testing.T) {
	rec := trialRecord()
	rec.State = Activated
	m, lvm := unitMachine(t, rec, nil)
	mustWrite(t, filepath.Join(m.Root, GrubCfgStale), "stale\n", 0o644)
	run := &execrun.Fake{}
	var out said
	if err := m.BootCheck(context.Background(), CheckOptions{Runner: run, NoReboot: true}, out.reporter()); err != nil {
		t.Fatalf("BootCheck: %v\n%s", err, &out)
	}
	if len(run.Ran)+len(lvm.Ran) != 0 {
		t.Errorf("ran %q %q, want nothing", run.Ran, lvm.Ran)
	}
	got := readRec(t, m.Root)
	if got.State != Booted || len(got.History) != 1 || got.History[0].Detail != "the activated image booted" {
		t.Errorf("record: %s, history %+v; want booted, one event saying the activated image booted", got.State, got.History)
	}
	if _, err := os.Stat(filepath.Join(m.Root, GrubCfgStale)); err != nil {
		t.Errorf("the stale mark of %s went: %v", m.Root, err)
	}
	if !out.has(m.Root + ": its grub.cfg is regenerated when it runs its own boot-time pass") {
		t.Errorf("no note of the grub.cfg left stale:\n%s", &out)
	}
}

// A trial of another image that never came up (no tries left): the
// booted image boots on, the trial image is named bad with the reason.
func TestBootCheckTrialDidNotComeUp(t *testing.T) {
	rec := trialRecord()
	rec.Name, rec.State = "sysimage_000", Booted
	m, _ := unitMachine(t, rec, &BootState{Seq: 3, Next: "sysimage_000", Trial: "sysimage_002", Tries: 0})
	run := &execrun.Fake{}
	var out said
	if err := m.BootCheck(context.Background(), CheckOptions{Runner: run, NoReboot: true}, out.reporter()); err != nil {
		t.Fatalf("BootCheck: %v\n%s", err, &out)
	}
	if len(run.Ran) != 0 {
		t.Errorf("ran %q", run.Ran)
	}
	if !out.has("sysimage_002 is bad: its trial boot did not come up (all tries used: kernel panic, hang or failed start-up); sysimage_000 booted instead") {
		t.Errorf("no warning naming the bad trial image:\n%s", &out)
	}
	if got := readRec(t, m.Root); got.State != Booted || len(got.History) != 0 {
		t.Errorf("the booted image's record changed: %s, %+v", got.State, got.History)
	}
}

// A kexec trial: the block still names the original (sysimage_000) as
// the target and has no trial; /proc/cmdline says drd.trial=. The boot
// check runs the health checks; a failure keeps the original as the
// target and reboots (by the firmware) into it. (A pass writes the menu,
// which needs the root's UUID that this fake machine's scan cannot find:
// TestAssessDirect has it.)
func TestBootCheckKexecTrial(t *testing.T) {
	for _, pass := range []bool{false} {
		t.Run(fmt.Sprintf("pass=%v", pass), func(t *testing.T) {
			m, _ := unitMachine(t, trialRecord(), &BootState{Seq: 7, Next: "sysimage_000"})
			mustWrite(t, filepath.Join(m.ProcDir, "cmdline"), "root=UUID=0ld ro quiet panic=10 drd.trial=sysimage_001 modules_load=softdog softdog.soft_active_on_boot=1 softdog.soft_margin=900\n", 0o644)
			mustWrite(t, filepath.Join(m.SysDir, "class/watchdog/watchdog0/identity"), "Software Watchdog\n", 0o644)
			var stopped []string
			stop := func(dev string) error { stopped = append(stopped, dev); return nil }
			check := filepath.Join(m.Root, ChecksDir, "10-web")
			mustWrite(t, check, "#!/bin/sh\n", 0o755)
			run := &execrun.Fake{Out: map[string]string{"systemctl --no-block reboot": ""}}
			if pass {
				run.Out[check] = ""
			} else {
				run.Errs = map[string]error{check: errors.New(`running "` + check + "\": exit status 1\ndown")}
			}
			var out said
			if err := m.BootCheck(context.Background(), CheckOptions{Runner: run, StopWatchdog: stop}, out.reporter()); err != nil {
				t.Fatalf("BootCheck: %v\n%s", err, &out)
			}
			if want := map[bool]int{true: 1, false: 0}[pass]; len(stopped) != want {
				t.Errorf("pass=%v: the trial's watchdog was stopped %d times (%q), want %d: a failed trial keeps it for the reboot", pass, len(stopped), stopped, want)
			}
			if !slices.Contains(run.Ran, check) {
				t.Fatalf("the health check did not run: %q\n%s", run.Ran, &out)
			}
			blk, err := ReadBlock(filepath.Join(m.Root, BlockPath))
			if err != nil {
				t.Fatal(err)
			}
			rec := readRec(t, m.Root)
			rebooted := slices.Contains(run.Ran, "systemctl --no-block reboot")
			if pass {
				if blk.Next != "sysimage_001" || blk.Trial != "" || rec.State != Good || rebooted {
					t.Errorf("after a passed kexec trial: block %+v, state %s, rebooted %v\n%s", blk, rec.State, rebooted, &out)
				}
				return
			}
			if blk.Next != "sysimage_000" || blk.Trial != "" || rec.State != Bad || !rebooted {
				t.Errorf("after a failed kexec trial: block %+v, state %s, rebooted %v\n%s", blk, rec.State, rebooted, &out)
			}
		})
	}
}

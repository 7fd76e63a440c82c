package bootenv

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv/grub"
)

func TestTrialWatchdogArgs(t *testing.T) {
	if a, err := TrialWatchdogArgs(0); a != "" || err != nil {
		t.Errorf("TrialWatchdogArgs(0) = %q, %v; want none", a, err)
	}
	a, err := TrialWatchdogArgs(300)
	if err != nil || a != "modules_load=softdog softdog.soft_active_on_boot=1 softdog.soft_margin=300" {
		t.Errorf("TrialWatchdogArgs(300) = %q, %v", a, err)
	}
	if !watchdogArmedBy("root=x " + a) {
		t.Errorf("the boot check does not see the watchdog armed by %q", a)
	}
	for _, bad := range []int{-1, 1, MinWatchdogSeconds - 1, 65536} {
		if _, err := TrialWatchdogArgs(bad); err == nil {
			t.Errorf("TrialWatchdogArgs(%d) accepted", bad)
		}
	}
}

func TestWatchdogArmedBy(t *testing.T) {
	for in, want := range map[string]bool{
		"":                                     false,
		"root=x softdog.soft_margin=60":        false,
		"root=x softdog.soft_active_on_boot=0": false,
		"softdog.soft_active_on_boot=1":        true,
		"softdog.soft_active_on_boot=Y quiet":  true,
		"xsoftdog.soft_active_on_boot=1":       false,
	} {
		if got := watchdogArmedBy(in); got != want {
			t.Errorf("watchdogArmedBy(%q) = %v; want %v", in, got, want)
		}
	}
}

// The kexec of a trial carries the watchdog; a lasting switch does not.
func TestPlanKexecWatchdog(t *testing.T) {
	mi := grub.MenuImage{Name: "sysimage_001", Kernel: "vmlinuz", Cmdline: "root=UUID=x"}
	p, err := PlanKexec(mi, true, 10, 120)
	if err != nil || !watchdogArmedBy(p.Cmdline) || !strings.Contains(p.Cmdline, "softdog.soft_margin=120") {
		t.Errorf("trial plan %q, %v: want softdog armed for 120 s", p.Cmdline, err)
	}
	if p, _ := PlanKexec(mi, false, 10, 120); watchdogArmedBy(p.Cmdline) {
		t.Errorf("a lasting kexec arms the watchdog: %q", p.Cmdline)
	}
	if p, _ := PlanKexec(mi, true, 10, 0); watchdogArmedBy(p.Cmdline) {
		t.Errorf("watchdog=0 arms the watchdog: %q", p.Cmdline)
	}
	if _, err := PlanKexec(mi, true, 10, 5); err == nil {
		t.Error("a 5 s watchdog accepted")
	}
}

func TestSoftdogDevice(t *testing.T) {
	sys := t.TempDir()
	if d, err := SoftdogDevice(sys); d != "" || err != nil {
		t.Errorf("no watchdog class: %q, %v", d, err)
	}
	mustWrite(t, filepath.Join(sys, "class/watchdog/watchdog0/identity"), "i6300ESB timer\n", 0o644)
	if d, _ := SoftdogDevice(sys); d != "" {
		t.Errorf("a hardware watchdog taken for softdog: %q", d)
	}
	mustWrite(t, filepath.Join(sys, "class/watchdog/watchdog1/identity"), "Software Watchdog\n", 0o644)
	if d, err := SoftdogDevice(sys); d != "watchdog1" || err != nil {
		t.Errorf("SoftdogDevice = %q, %v; want watchdog1", d, err)
	}
}

// disarmTrialWatchdog stops softdog only when the trial's command line
// armed it, and says so when it cannot.
func TestDisarmTrialWatchdog(t *testing.T) {
	m, _ := unitMachine(t, nil, nil)
	mustWrite(t, filepath.Join(m.SysDir, "class/watchdog/watchdog0/identity"), "Software Watchdog\n", 0o644)
	var stopped []string
	stop := func(dev string) error { stopped = append(stopped, dev); return nil }
	var out said
	m.disarmTrialWatchdog(watchdogArmedBy("root=x panic=10"), stop, out.reporter())
	if len(stopped) != 0 {
		t.Errorf("a watchdog drd did not arm was stopped: %q", stopped)
	}
	m.disarmTrialWatchdog(watchdogArmedBy("root=x softdog.soft_active_on_boot=1"), stop, out.reporter())
	if len(stopped) != 1 || stopped[0] != "watchdog0" || !out.has("Stopped the trial's watchdog (/dev/watchdog0)") {
		t.Errorf("stopped %q\n%s", stopped, &out)
	}
	out = said{}
	m.disarmTrialWatchdog(true, func(string) error { return errors.New("device busy") }, out.reporter())
	if !out.has("stopping the trial's watchdog /dev/watchdog0: device busy") {
		t.Errorf("a failed stop is not reported:\n%s", &out)
	}
	out = said{}
	m.disarmTrialWatchdog(true, nil, out.reporter())
	if !out.has("nothing was given to stop it") {
		t.Errorf("no stopper is not reported:\n%s", &out)
	}
}

// The menu refresh copies the running command line into drd.cfg: a
// trial's softdog must not become every boot's (it would reset the
// machine after soft_margin at each boot that is no trial). An
// administrator's own modules_load= and softdog settings stay.
func TestKernelArgsDropTrialWatchdog(t *testing.T) {
	wd, _ := TrialWatchdogArgs(900)
	in := "root=UUID=x ro quiet panic=10 " + wd + " drd.trial=sysimage_001"
	if got := kernelArgs(in); got != "ro quiet" {
		t.Errorf("kernelArgs(%q) = %q, want ro quiet", in, got)
	}
	own := "root=UUID=x ro modules_load=softdog softdog.soft_margin=30"
	if got := kernelArgs(own); got != "ro modules_load=softdog softdog.soft_margin=30" {
		t.Errorf("kernelArgs(%q) = %q: the administrator's own softdog dropped", own, got)
	}
	if normArgs(in) != normArgs("root=UUID=y ro quiet") {
		t.Errorf("a trial's watchdog makes the command lines differ for soft-reboot: %q", normArgs(in))
	}
}

package bootenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drd-linux/drd/bootenv/grub"
)

// conditionsOf are the values of the unit's lines key= (key without =).
func conditionsOf(unit, key string) []string {
	var vals []string
	for _, l := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			vals = append(vals, v)
		}
	}
	return vals
}

// kernelCmdlineMatches is systemd's ConditionKernelCommandLine= for one
// word: an assignment matches itself, a word also its assignments.
func kernelCmdlineMatches(word, cmdline string) bool {
	for _, a := range strings.Fields(cmdline) {
		if a == word || !strings.Contains(word, "=") && strings.HasPrefix(a, word+"=") {
			return true
		}
	}
	return false
}

// rescueUnitStarts reports whether the unit's triggering conditions (all
// of them "|": any one) hold on a boot with cmdline and the files of
// /run given (true: SoftTrialPath exists).
func rescueUnitStarts(t *testing.T, unit, cmdline string, softMarker bool) bool {
	t.Helper()
	any := false
	for _, c := range conditionsOf(unit, "ConditionKernelCommandLine") {
		w, ok := strings.CutPrefix(c, "|")
		if !ok {
			t.Fatalf("ConditionKernelCommandLine=%s is not a triggering condition (|): every condition would have to hold", c)
		}
		any = any || kernelCmdlineMatches(w, cmdline)
	}
	for _, c := range conditionsOf(unit, "ConditionPathExists") {
		p, ok := strings.CutPrefix(c, "|")
		if !ok {
			t.Fatalf("ConditionPathExists=%s is not a triggering condition (|)", c)
		}
		any = any || softMarker && p == SoftTrialPath
	}
	return any
}

// The unit starts on every kind of trial boot, as drd makes them, and on
// no other boot: a boot's menu entry leaves the trial's arguments out.
func TestRescueUnitRunsOnTrialsOnly(t *testing.T) {
	mi := grub.MenuImage{Name: "sysimage_001", Kernel: "vmlinuz-6.1.0-28-amd64", Initrd: "initrd.img-6.1.0-28-amd64", Cmdline: "root=UUID=abc ro quiet"}
	kexec := func(wd int) string {
		p, err := PlanKexec(mi, true, PanicSeconds, wd)
		if err != nil {
			t.Fatal(err)
		}
		return p.Cmdline
	}
	grubTrial := mi.Cmdline + " panic=10 " + grubTrialArgs(&Status{}, nil)
	for _, unit := range []string{RescueUnitText(), PackagedRescueUnitText()} {
		for _, tt := range []struct {
			name    string
			cmdline string
			soft    bool
			want    bool
		}{
			{"a GRUB (firmware) trial", grubTrial, false, true},
			{"a kexec trial", kexec(DefaultWatchdogSeconds), false, true},
			{"a kexec trial without a watchdog", kexec(0), false, true},
			{"a soft-reboot trial", mi.Cmdline, true, true},
			{"a plain boot", mi.Cmdline, false, false},
			{"the next boot's entry after a GRUB trial", "root=UUID=abc " + kernelArgs(grubTrial), false, false},
			{"the next boot's entry after a kexec trial", "root=UUID=abc " + kernelArgs(kexec(DefaultWatchdogSeconds)), false, false},
		} {
			if got := rescueUnitStarts(t, unit, tt.cmdline, tt.soft); got != tt.want {
				t.Errorf("%s (%q, soft marker %v): the unit starts %v, want %v\n%s", tt.name, tt.cmdline, tt.soft, got, tt.want, unit)
			}
		}
	}
}

// The unit is pulled in by both targets, not by the boot's own, has no
// default dependencies (basic.target may be what failed), and reboots
// after saying why on the console.
func TestRescueUnitText(t *testing.T) {
	for name, unit := range map[string]string{"clone's": RescueUnitText(), "package's": PackagedRescueUnitText()} {
		for _, want := range []string{
			"\nWantedBy=emergency.target rescue.target\n",
			"\nDefaultDependencies=no\n",
			"\nStandardOutput=journal+console\n",
			"sleep 30 && exec systemctl --no-block reboot'",
		} {
			if !strings.Contains(unit, want) {
				t.Errorf("the %s rescue unit lacks %q:\n%s", name, want, unit)
			}
		}
		if strings.Contains(unit, "multi-user.target") || strings.Contains(unit, "default.target") {
			t.Errorf("the %s rescue unit is pulled in by a normal boot:\n%s", name, unit)
		}
	}
	if first, _, _ := strings.Cut(PackagedRescueUnitText(), "\n"); first == rescueCloneMark {
		t.Error("the package's rescue unit has drd clone's mark: postinst would remove it")
	}
	if first, _, _ := strings.Cut(RescueUnitText(), "\n"); first != rescueCloneMark {
		t.Errorf("drd clone's rescue unit starts %q, want its mark", first)
	}
}

// The unit's command says why on the console, waits, and reboots; with
// systemctl and sleep faked on PATH.
func TestRescueUnitCommand(t *testing.T) {
	script := ""
	for _, v := range conditionsOf(RescueUnitText(), "ExecStart") {
		if s, ok := strings.CutPrefix(v, "/bin/sh -c '"); ok && strings.HasSuffix(s, "'") {
			script = strings.TrimSuffix(s, "'")
		}
	}
	if script == "" {
		t.Fatalf("no ExecStart=/bin/sh -c '...':\n%s", RescueUnitText())
	}
	bin := t.TempDir()
	calls := filepath.Join(bin, "calls")
	for name, body := range map[string]string{
		"sleep":     "echo sleep \"$@\" >> " + calls,
		"systemctl": "echo systemctl \"$@\" >> " + calls,
	} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the unit's command: %v\n%s", err, out)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("the unit's command ran the real sleep")
	}
	for _, want := range []string{"trial boot stopped in emergency or rescue mode", "rebooting in 30 s", "systemctl stop " + RescueUnitName} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the console message %q lacks %q", out, want)
		}
	}
	got, _ := os.ReadFile(calls)
	if string(got) != "sleep 30\nsystemctl --no-block reboot\n" {
		t.Errorf("the unit ran %q, want sleep 30 then systemctl --no-block reboot", got)
	}
}

// systemd reads both units without a complaint (where systemd-analyze
// is installed).
func TestRescueUnitVerifies(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("no systemd-analyze")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, RescueUnitName)
	for _, unit := range []string{RescueUnitText(), PackagedRescueUnitText()} {
		if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("systemd-analyze", "verify", "--man=no", p).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s\n%s", err, out, unit)
		}
	}
}

// drd clone enables the unit for both targets with relative links.
func TestInstallRescueUnit(t *testing.T) {
	root := t.TempDir()
	for range 2 { // again: unchanged
		if err := InstallRescueUnit(root); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, unitDir, RescueUnitName)); err != nil || string(b) != RescueUnitText() {
		t.Errorf("the unit: %v\n%s", err, b)
	}
	for _, target := range []string{"emergency.target", "rescue.target"} {
		link := filepath.Join(root, unitDir, target+".wants", RescueUnitName)
		if to, err := os.Readlink(link); err != nil || to != "../"+RescueUnitName {
			t.Errorf("%s: %q, %v; want ../%s", link, to, err, RescueUnitName)
		}
	}
}

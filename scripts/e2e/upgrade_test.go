package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// upgradeEnv and upgradeApt are the release upgrade's apt command as
// docs/runbook.md gives it: no question asked, a changed conffile kept
// as the administrator left it (dpkg's defaults, else the old one).
const (
	upgradeEnv = "DEBIAN_FRONTEND=noninteractive"
	upgradeApt = "apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold full-upgrade"
)

// TestReleaseUpgrade is issue 14's release upgrade in a maintenance
// window, on layout (a) with a network (the guest reaches
// deb.debian.org): drd clone; in the clone, through drd runcmd, apt's
// sources pointed at trixie, apt-get update, a precheck of the full
// upgrade, then the full upgrade; drd activate -x trial=true and a
// reboot: the clone boots Debian 13 (os-release, kernel 6.12, systemd
// 257 or newer) and passes its trial, while the original is still
// Debian 12. Then the fallback: back on the original, a health check
// that fails is put into the upgraded clone with drd runcmd, and after
// drd activate -x trial=true and one reboot the machine comes back to
// the original Debian 12 by itself (the harness resets nothing).
//
// In `make e2e` only: the full upgrade downloads and installs about
// 200 packages under TCG (figures in docs/e2e.md).
func TestReleaseUpgrade(t *testing.T) {
	Require(t)
	ph := PhasesFor(t)
	vm := Boot(t, LayoutBIOS, Options{Network: true, MemMiB: 1536, BootTimeout: 15 * time.Minute, CommandTimeout: 150 * time.Minute})
	wantRoot(t, vm, SysSerial, "first boot")
	wantRelease(t, vm, "12", "the original before the upgrade")
	target := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + TargetSerial))
	ph.Time("clone", func() { t.Log(vm.MustRun("drd clone -t " + target + " 2>&1")) })

	// runcmd runs a drd runcmd command line; exit 2 is a warning
	// (allow_unsafe for sed and sh), anything else but 0 fails.
	runcmd := func(cmd string) string {
		t.Helper()
		r := vm.Run(cmd)
		t.Logf("%s: exit %d\n%s%s", cmd, r.Code, lastLines(r.Stdout, 80), lastLines(r.Stderr, 40))
		if r.Code != 0 && r.Code != 2 {
			t.Fatalf("%s: exit %d", cmd, r.Code)
		}
		return r.Stdout + r.Stderr
	}
	runcmd(`drd runcmd -x allow_unsafe=true -x note='release upgrade: sources' sed -i 's/bookworm/trixie/g' /etc/apt/sources.list 2>&1`)
	if src := vm.MustRun("cat /etc/apt/sources.list"); strings.Contains(src, "trixie") {
		t.Fatalf("the booted system's sources changed:\n%s", src)
	}
	ph.Time("apt-get update", func() { runcmd("drd runcmd apt-get update 2>&1") })

	// The precheck: apt's solution downloaded into the clone's cache
	// and judged, nothing installed. A package the rules call unsafe
	// is an error of this test (the release upgrade is meant to pass
	// as it is); the run goes on with allow_unsafe to measure the rest.
	var pre string
	ph.Time("precheck (download, judge)", func() {
		cmd := upgradeEnv + " drd runcmd -x precheck_only=true " + upgradeApt + " 2>&1"
		r := vm.Run(cmd)
		pre = r.Stdout + r.Stderr
		t.Logf("%s: exit %d\n%s", cmd, r.Code, lastLines(pre, 120))
		if r.Code != 0 && r.Code != 2 && !strings.Contains(pre, "UNSAFE") {
			t.Fatalf("%s: exit %d", cmd, r.Code)
		}
	})
	if m := regexp.MustCompile(`Need to get ([0-9.,]+ [kMG]?B)(?:/([0-9.,]+ [kMG]?B))? of archives`).FindStringSubmatch(pre); m != nil {
		t.Logf("download: %s", m[0])
	}
	if m := regexp.MustCompile(`(\d+) upgraded, (\d+) newly installed, (\d+) to remove`).FindStringSubmatch(pre); m != nil {
		t.Logf("apt's solution: %s", m[0])
	}
	allow := ""
	if strings.Contains(pre, "UNSAFE") || strings.Contains(pre, "REFUSED") {
		t.Errorf("the precheck refuses the release upgrade (see the report above)")
		allow = "-x allow_unsafe=true "
	}
	ph.Time("full-upgrade in the jail", func() {
		runcmd(upgradeEnv + " drd runcmd " + allow + "-x note='release upgrade to Debian 13' " + upgradeApt + " 2>&1")
	})
	t.Log(vm.MustRun("set -e; m=$(drd mount -q); du -sh $m/var/cache/apt/archives; grep -E '^(VERSION_ID|PRETTY_NAME)=' $m/etc/os-release; ls $m/boot; df -h $m; drd umount -q"))
	wantRelease(t, vm, "12", "the booted original after the upgrade of the clone")

	// The switch: a trial boot of the upgraded clone.
	t.Log(vm.MustRun("drd activate -x trial=true 2>&1"))
	ph.Time("reboot to good (Debian 13)", func() { rebootSettled(t, vm, 2) })
	wantRoot(t, vm, TargetSerial, "the upgraded clone")
	wantRelease(t, vm, "13", "the upgraded clone")
	if k := strings.TrimSpace(vm.MustRun("uname -r")); !strings.HasPrefix(k, "6.12.") {
		t.Errorf("the upgraded clone runs kernel %s, want 6.12", k)
	}
	sd := vm.MustRun("systemctl --version | head -n 1")
	if f := strings.Fields(sd); len(f) < 2 {
		t.Errorf("systemctl --version: %q", sd)
	} else if n, _ := strconv.Atoi(f[1]); n < 257 {
		t.Errorf("the upgraded clone runs systemd %s, want 257 or newer", f[1])
	}
	if st := readStatus(t, vm); st.Booted.Name != "sysimage_001" {
		t.Fatalf("after the trial boot: %+v", st)
	} else if s, why := st.state("sysimage_001"); s != "good" {
		t.Fatalf("the upgraded clone is %q (%s), want good", s, why)
	}
	t.Log(vm.MustRun("drd status"))
	// The original is untouched: still Debian 12.
	vm.MustRun(`set -e; m=$(drd mount -q sysimage_000); grep -qx 'VERSION_ID="12"' $m/etc/os-release; drd umount -q sysimage_000`)

	// Hot recovery to the original, then the fallback variant.
	t.Log(vm.MustRun("drd activate sysimage_000 2>&1"))
	rebootSettled(t, vm, 2)
	wantRoot(t, vm, SysSerial, "back on the original")
	wantRelease(t, vm, "12", "back on the original")
	runcmd(`drd runcmd -x allow_unsafe=true -x note='a failing health check' sh -c 'mkdir -p /etc/drd/checks.d && printf "#!/bin/sh\necho the upgraded service does not answer >&2\nexit 1\n" >/etc/drd/checks.d/50-upgrade && chmod 755 /etc/drd/checks.d/50-upgrade' 2>&1`)
	vm.MustRun("test ! -e /etc/drd/checks.d/50-upgrade")
	t.Log(vm.MustRun("drd activate -x trial=true 2>&1"))
	boots := vm.boots
	ph.Time("failed trial to the original", func() { rebootSettled(t, vm, 4) })
	// The harness sent one systemctl reboot and no reset: every boot
	// after it was the machine's own (the trial, then the fallback).
	t.Logf("fallback: %d boot(s) after one systemctl reboot, 0 power cycles by the harness", vm.boots-boots)
	wantRoot(t, vm, SysSerial, "fallback after the failed health check")
	wantRelease(t, vm, "12", "fallback after the failed health check")
	if st := readStatus(t, vm); st.Activated != "sysimage_000" {
		t.Fatalf("fallback: activated %q, want sysimage_000", st.Activated)
	} else if s, why := st.state("sysimage_001"); s != "bad" || !strings.Contains(why, "50-upgrade") {
		t.Fatalf("fallback: the clone is %q (%s), want bad because of 50-upgrade", s, why)
	}
	t.Log(vm.MustRun("drd status"))
}

// wantRelease checks the booted system's Debian release.
func wantRelease(t *testing.T, vm *VM, version, why string) {
	t.Helper()
	out := vm.MustRun("grep -E '^(VERSION_ID|PRETTY_NAME)=' /etc/os-release")
	if !strings.Contains(out, `VERSION_ID="`+version+`"`) {
		t.Fatalf("%s: /etc/os-release says\n%s want VERSION_ID %q", why, out, version)
	}
	t.Logf("%s: %s", why, strings.ReplaceAll(strings.TrimSpace(out), "\n", ", "))
}

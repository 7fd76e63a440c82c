package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestActivate is issue 6's proof on layouts (a) BIOS, (b) LVM and (c)
// UEFI, in one VM each, step after step: hot maintenance with a trial boot, hot
// recovery, a clone that fails its health check and one whose kernel
// panics (both fall back without a human), power cuts during drd
// activate, and the original disk pulled out.
func TestActivate(t *testing.T) {
	for _, l := range onReleases(LayoutBIOS, LayoutLVM, LayoutUEFI) {
		t.Run(l.Name, func(t *testing.T) { activateScenario(t, l) })
	}
}

// helloDeb is the local package of the hot maintenance.
var helloDeb = Deb{
	Package: "drd-e2e-hello",
	Fields:  map[string]string{"X-DRD-Safe": "yes"},
	Files:   map[string]DebFile{"/usr/share/drd-e2e-hello/hello.txt": {Content: "patched by drd runcmd\n"}},
}

// status is the part of drd status --json the scenarios read.
type status struct {
	Activated string `json:"activated"`
	Booted    struct {
		Name string `json:"name"`
	} `json:"booted"`
	Images []struct {
		Name   string `json:"name"`
		State  string `json:"state"`
		Reason string `json:"reason"`
	} `json:"images"`
	Boot *struct {
		Seq   int64  `json:"seq"`
		Next  string `json:"next"`
		Trial string `json:"trial"`
		Tries int    `json:"tries"`
	} `json:"boot"`
}

func readStatus(t *testing.T, vm *VM) status {
	t.Helper()
	var st status
	out := vm.MustRun("drd status --json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("drd status --json: %v\n%s", err, out)
	}
	return st
}

func (st status) state(name string) (string, string) {
	for _, img := range st.Images {
		if img.Name == name {
			return img.State, img.Reason
		}
	}
	return "", ""
}

// wantRoot checks which disk / is on.
func wantRoot(t *testing.T, vm *VM, serial, why string) {
	t.Helper()
	b := vm.BootInfo()
	if b.RootSerial != serial {
		t.Fatalf("%s: / is %s on disk %s, want disk %s\ncmdline: %s", why, b.RootSource, b.RootSerial, serial, b.Cmdline)
	}
	t.Logf("%s: / is %s on %s", why, b.RootSource, serial)
}

func activateScenario(t *testing.T, l Layout) {
	Require(t)
	ph := PhasesFor(t)
	vm := Boot(t, l, Options{Debs: []Deb{helloDeb}, BootTimeout: 10 * time.Minute})
	wantRoot(t, vm, SysSerial, "first boot")
	target := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + TargetSerial))

	ph.Time("clone", func() { t.Log(vm.MustRun("drd clone -v -t " + target + " 2>&1")) })
	vm.MustRun(`set -e; grep -q 'source "${prefix}/drd.cfg"' /boot/grub/grub.cfg; test -x /etc/grub.d/05_drd
grub-editenv /boot/grub/drdenv list | grep -qx drd_next=sysimage_000
systemctl cat drd-boot-check.service >/dev/null`)
	if l.Firmware == UEFI {
		t.Log(vm.MustRun("efibootmgr -v"))
	}
	wantCloneEntryNext(t, vm, l, "sysimage_001")

	// 1. Hot maintenance: a local package into the clone, a trial boot.
	ph.Time("runcmd", func() {
		t.Log(vm.MustRun("drd runcmd -x depot=/run/drd-e2e/debs dpkg -i /run/drd-e2e/debs/drd-e2e-hello_1.0_all.deb 2>&1"))
	})
	vm.MustRun("! test -e /usr/share/drd-e2e-hello/hello.txt")
	t.Log(vm.MustRun("drd activate -x trial=true 2>&1; drd status"))
	if st := readStatus(t, vm); st.Activated != "sysimage_001" || st.Boot == nil || st.Boot.Trial != "sysimage_001" || st.Boot.Tries != 2 {
		t.Fatalf("after drd activate -x trial=true: %+v", st)
	}
	wantEFI(t, vm, l, "after drd activate -x trial=true", "", "sysimage_000", "sysimage_001")
	rebootSettled(t, vm, 2)
	wantRoot(t, vm, TargetSerial, "1. hot maintenance")
	vm.MustRun("grep -q 'patched by drd runcmd' /usr/share/drd-e2e-hello/hello.txt")
	if st := readStatus(t, vm); st.Booted.Name != "sysimage_001" || st.Activated != "sysimage_001" {
		t.Fatalf("1. after the trial boot: %+v", st)
	} else if s, _ := st.state("sysimage_001"); s != "good" {
		t.Fatalf("1. the trial image is %q, want good; status %+v", s, st)
	}
	wantEFI(t, vm, l, "1. hot maintenance", "sysimage_001", "sysimage_001", "")
	t.Log(vm.MustRun("drd status"))

	// 2. Hot recovery: back to the original, one reboot.
	// drd deactivate undoes it before the reboot; then activate again.
	t.Log(vm.MustRun("drd activate sysimage_000 2>&1"))
	wantEFI(t, vm, l, "2. after drd activate sysimage_000", "", "sysimage_000", "")
	t.Log(vm.MustRun("drd deactivate 2>&1"))
	if st := readStatus(t, vm); st.Activated != "sysimage_001" {
		t.Fatalf("2. after drd deactivate: activated %q, want the booted sysimage_001", st.Activated)
	}
	wantEFI(t, vm, l, "2. after drd deactivate", "", "sysimage_001", "")
	t.Log(vm.MustRun("drd activate sysimage_000 2>&1"))
	rebootSettled(t, vm, 2)
	wantRoot(t, vm, SysSerial, "2. hot recovery")
	wantEFI(t, vm, l, "2. hot recovery", "sysimage_000", "sysimage_000", "")
	vm.MustRun("! dpkg -s drd-e2e-hello >/dev/null 2>&1")

	// 3a. A clone whose health check fails: back to the original by itself.
	vm.MustRun(`set -e; m=$(drd mount -q); mkdir -p $m/etc/drd/checks.d
printf '#!/bin/sh\necho the web server does not answer >&2\nexit 1\n' > $m/etc/drd/checks.d/50-web
chmod 755 $m/etc/drd/checks.d/50-web; drd umount -q`)
	t.Log(vm.MustRun("drd activate -x trial=true 2>&1"))
	wantEFI(t, vm, l, "3a. after drd activate -x trial=true", "", "sysimage_000", "sysimage_001")
	rebootSettled(t, vm, 4)
	wantRoot(t, vm, SysSerial, "3a. failed health check")
	wantEFI(t, vm, l, "3a. failed health check", "sysimage_000", "sysimage_000", "")
	if st := readStatus(t, vm); st.Activated != "sysimage_000" {
		t.Fatalf("3a. activated %q, want sysimage_000", st.Activated)
	} else if s, why := st.state("sysimage_001"); s != "bad" || !strings.Contains(why, "50-web") {
		t.Fatalf("3a. the clone is %q (%s), want bad because of 50-web", s, why)
	}
	t.Log(vm.MustRun("drd status"))

	// 3b. A clone whose kernel panics (its init is gone): GRUB counts
	// the tries down and boots the original again.
	vm.MustRun(`set -e; m=$(drd mount -q); rm -f $m/etc/drd/checks.d/50-web
ln -sfn /bin/false $m/usr/sbin/init; drd umount -q`)
	if r := vm.Run("drd activate -x trial=true 2>&1"); r.Code == 0 {
		t.Fatalf("3b. a bad image was activated without -x force=true:\n%s", r.Stdout)
	}
	t.Log(vm.MustRun("drd activate -x trial=true -x force=true 2>&1"))
	ph.Time("panicking trial", func() { rebootSettled(t, vm, 4) })
	wantRoot(t, vm, SysSerial, "3b. kernel panic")
	wantEFI(t, vm, l, "3b. kernel panic", "sysimage_000", "sysimage_000", "")
	if st := readStatus(t, vm); st.Activated != "sysimage_000" {
		t.Fatalf("3b. activated %q, want sysimage_000", st.Activated)
	} else if s, why := st.state("sysimage_001"); s != "bad" || !strings.Contains(why, "did not come up") {
		t.Fatalf("3b. the clone is %q (%s), want bad: did not come up", s, why)
	}
	t.Log(vm.MustRun("drd status"))
	if n := strings.Count(vm.p.console.Tail(100000), "Kernel panic"); n == 0 {
		t.Error("3b. no kernel panic on the console")
	}
	vm.MustRun(`set -e; m=$(drd mount -q); ln -sfn ../lib/systemd/systemd $m/usr/sbin/init; drd umount -q`)

	// 5. Power cuts during drd activate: every next boot reaches an image.
	for i, d := range []time.Duration{300 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 6 * time.Second} {
		st := readStatus(t, vm)
		other := "sysimage_001"
		if st.Booted.Name == other {
			other = "sysimage_000"
		}
		cmd := fmt.Sprintf("drd activate -x force=true %s", other)
		powerCut(t, vm, cmd, d)
		b := vm.BootInfo()
		if b.RootSerial != SysSerial && b.RootSerial != TargetSerial {
			t.Fatalf("5. power cut %d after %v: / on %s", i+1, d, b.RootSerial)
		}
		vm.MustRun("grub-editenv /boot/grub/drdenv list")
		t.Logf("5. power cut %d, %v into %q: booted from %s", i+1, d, cmd, b.RootSerial)
	}

	// 4. The original disk pulled out: the clone boots.
	st := readStatus(t, vm)
	if st.Booted.Name != "sysimage_000" {
		t.Log(vm.MustRun("drd activate -x force=true sysimage_000 2>&1"))
		rebootSettled(t, vm, 2)
	}
	lostDisk(t, vm, l)
}

// TestActivateLostDisk is step 4 alone: clone, then pull the original
// disk out while the original is the boot target; the clone boots.
func TestActivateLostDisk(t *testing.T) {
	for _, l := range onReleases(LayoutBIOS, LayoutUEFI) {
		t.Run(l.Name, func(t *testing.T) {
			Require(t)
			vm := Boot(t, l, Options{BootTimeout: 10 * time.Minute})
			target := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + TargetSerial))
			PhasesFor(t).Time("clone", func() { vm.MustRun("drd clone -t " + target) })
			lostDisk(t, vm, l)
		})
	}
}

// lostDisk restarts the VM without its system disk and checks that the
// clone boots.
func lostDisk(t *testing.T, vm *VM, l Layout) {
	boot := ""
	if l.Firmware == BIOS {
		boot = TargetSerial // SeaBIOS: the clone disk is next in the boot order
	}
	restartWithout(t, vm, SysSerial, boot)
	wantRoot(t, vm, TargetSerial, "4. original disk gone")
	wantEFI(t, vm, l, "4. original disk gone", "sysimage_001", "", "")
	t.Log(vm.MustRun("drd status"))
}

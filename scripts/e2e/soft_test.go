package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// softRebootLayouts are the layouts whose systemd has soft-reboot
// (>= 254: Debian 13).
var softRebootLayouts = []Layout{LayoutBIOS13, LayoutUEFI13}

// TestSoftReboot is issue 18's soft-reboot proof on Debian 13: a
// soft-reboot trial into the clone (same kernel, initramfs and command
// line) whose root is the clone's, confirmed by its boot check with the
// persistent target unchanged until then; and one that fails its health
// check, after which the firmware boots the original.
func TestSoftReboot(t *testing.T) {
	if len(softRebootLayouts) == 0 {
		t.Skip("no Debian 13 layout in this harness yet (systemd >= 254 has soft-reboot): see softRebootLayouts")
	}
	for _, l := range softRebootLayouts {
		t.Run(l.Name, func(t *testing.T) { softScenario(t, l) })
	}
}

func softScenario(t *testing.T, l Layout) {
	Require(t)
	vm := Boot(t, l, Options{BootTimeout: 10 * time.Minute})
	target := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + TargetSerial))
	PhasesFor(t).Time("clone", func() { vm.MustRun("drd clone -t " + target) })
	t.Log(vm.MustRun("systemctl --version | head -n 1; drd activate -p -v -x trial=true -x reboot=auto 2>&1"))

	// 1. A good clone, on trial by soft-reboot.
	vm.MustRun(`set -e; m=$(drd mount -q); mkdir -p $m/etc/drd/checks.d
cat > $m/etc/drd/checks.d/10-record <<'EOF2'
` + duringTrial + `EOF2
chmod 755 $m/etc/drd/checks.d/10-record; drd umount -q`)
	kernel := vm.MustRun("cat /proc/sys/kernel/random/boot_id")
	softSwitch(t, vm, "drd activate -x trial=true -x reboot=soft")
	if got := vm.MustRun("cat /proc/sys/kernel/random/boot_id"); got != kernel {
		t.Fatalf("1. the kernel restarted (boot id %s, was %s): no soft reboot", got, kernel)
	}
	wantRoot(t, vm, TargetSerial, "1. soft-reboot trial")
	var during status
	if err := json.Unmarshal([]byte(vm.MustRun("cat /var/tmp/drd-e2e-trial-status.json")), &during); err != nil {
		t.Fatal(err)
	}
	if during.Boot == nil || during.Boot.Next != "sysimage_000" || during.Boot.Trial != "" {
		t.Fatalf("1. during the trial the persistent target is %+v, want sysimage_000", during.Boot)
	}
	st := readStatus(t, vm)
	if s, _ := st.state("sysimage_001"); st.Activated != "sysimage_001" || s != "good" {
		t.Fatalf("1. after the soft-reboot trial: %+v", st)
	}
	vm.MustRun("! test -e /run/drd/soft-trial; ! mountpoint -q /run/nextroot")

	// 2. Back to the original by a firmware reboot, then a clone that
	// fails its health check: the boot check reboots by the firmware.
	t.Log(vm.MustRun("drd activate sysimage_000 2>&1"))
	rebootSettled(t, vm, 2)
	wantRoot(t, vm, SysSerial, "2. back")
	vm.MustRun(`set -e; m=$(drd mount -q)
printf '#!/bin/sh\nexit 1\n' > $m/etc/drd/checks.d/50-web; chmod 755 $m/etc/drd/checks.d/50-web; drd umount -q`)
	prev := vm.bootID
	if _, _, err := vm.p.agent.start("drd activate -x trial=true -x reboot=soft >/var/tmp/drd-e2e-activate.log 2>&1"); err != nil {
		t.Fatal(err)
	}
	settle(t, vm, prev, 3) // the soft-rebooted trial says hello with the same boot id: the firmware boot is the next one
	wantRoot(t, vm, SysSerial, "2. failed soft-reboot trial")
	if s, why := readStatus(t, vm).state("sysimage_001"); s != "bad" || !strings.Contains(why, "50-web") {
		t.Fatalf("2. the clone is %q (%s), want bad because of 50-web", s, why)
	}
}

// softSwitch runs cmd, which soft-reboots the guest, and waits for the
// new user space (waitSoftBoot).
func softSwitch(t *testing.T, vm *VM, cmd string) {
	t.Helper()
	vm.forgetHellos()
	if _, _, err := vm.p.agent.start(cmd + " >/var/tmp/drd-e2e-activate.log 2>&1"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), vm.opts.BootTimeout)
	defer cancel()
	state, err := vm.waitSoftBoot(ctx)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	t.Logf("after the soft reboot: %s", state)
}

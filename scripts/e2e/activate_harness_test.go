package e2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Helpers of the activate scenarios that the harness itself lacks: boots
// that pass through failing boots (a trial that panics or fails its
// health check reboots on its own), a restart without a disk, and a power
// cut in the middle of a command. They only use the harness's own parts.

// settle waits, after a reboot was set off, for a boot that stays up:
// agent hello, start-up finished, and no shutdown under way. Boots that
// reboot by themselves on the way are passed through (at most maxBoots).
func settle(t *testing.T, vm *VM, prev string, maxBoots int) {
	t.Helper()
	for i := 0; i < maxBoots; i++ {
		err := vm.waitBoot(prev)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			r, rerr := vm.p.agent.run(ctx, "systemctl is-system-running")
			cancel()
			state := strings.TrimSpace(r.Stdout)
			if rerr == nil && (state == "running" || state == "degraded") {
				t.Logf("VM %s: settled in boot %s (%s) after %d boot(s)", vm.Name, vm.bootID, state, i+1)
				return
			}
			t.Logf("VM %s: boot %s is %q (%v): it reboots again", vm.Name, vm.bootID, state, rerr)
		} else {
			t.Logf("VM %s: a boot did not settle: %v", vm.Name, firstLine(err.Error()))
		}
		if !vm.Running() {
			t.Fatalf("VM %s: QEMU stopped while booting", vm.Name)
		}
		if vm.bootID == prev {
			t.Fatal(err) // no new boot at all: stuck
		}
		prev = vm.bootID
	}
	t.Fatalf("VM %s: no boot stayed up within %d boots", vm.Name, maxBoots)
}

// rebootSettled reboots cleanly and waits for a boot that stays up.
func rebootSettled(t *testing.T, vm *VM, maxBoots int) {
	t.Helper()
	prev := vm.bootID
	vm.p.console.Skip()
	if _, _, err := vm.p.agent.start("systemctl reboot"); err != nil {
		t.Fatal(err)
	}
	PhasesFor(t).Time("reboot "+vm.Name, func() { settle(t, vm, prev, maxBoots) })
}

// powerCut starts cmd in the guest, cuts the power (a reset: the guest's
// memory is lost, what reached its disks stays) after delay, and waits
// for a boot that stays up.
func powerCut(t *testing.T, vm *VM, cmd string, delay time.Duration) {
	t.Helper()
	prev := vm.bootID
	if _, _, err := vm.p.agent.start(cmd); err != nil {
		t.Fatal(err)
	}
	time.Sleep(delay)
	vm.p.console.Skip()
	if err := qmp(vm.p.m.QMP, "system_reset"); err != nil {
		t.Fatal(err)
	}
	settle(t, vm, prev, 4)
}

// restartWithout powers the VM off and starts it again on the same disk
// files without the disk of serial, as if it had been pulled out; boot,
// if not "", is the disk the firmware should try first.
func restartWithout(t *testing.T, vm *VM, serial, boot string) {
	t.Helper()
	vm.Shutdown()
	m := vm.m
	m.Drives = nil
	for i, d := range vm.m.Drives {
		if d.Serial == serial {
			continue
		}
		d.Slot = vm.m.slot(i) // the other disks stay where they were
		d.Boot = d.Serial == boot
		m.Drives = append(m.Drives, d)
	}
	startMachine(t, vm, m, "without-"+serial)
	PhasesFor(t).Time("boot without "+serial, func() { settle(t, vm, "", 4) })
}

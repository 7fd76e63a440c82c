package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestKexec is issue 18's proof on layouts (a) BIOS and (c) UEFI, one VM
// each: drd activate -x reboot=kexec into the clone on trial, with the
// persistent boot target unchanged until the boot check confirms; kexec
// trials into a clone that fails its health check, one whose init dies
// and one that hangs (its softdog resets it): each time the
// next boot is the original, by itself, and the harness never resets the
// VM; and the refusal of -x reboot=soft on Debian 12 (systemd 252).
func TestKexec(t *testing.T) {
	for _, l := range []Layout{LayoutBIOS, LayoutUEFI} {
		t.Run(l.Name, func(t *testing.T) { kexecScenario(t, l) })
	}
}

// duringTrial is what the clone's first health check records while the
// trial runs: drd status --json and, on UEFI, efibootmgr -v.
const duringTrial = `#!/bin/sh
drd status --json > /var/tmp/drd-e2e-trial-status.json
efibootmgr -v > /var/tmp/drd-e2e-trial-efi.txt 2>&1 || true
cat /proc/cmdline > /var/tmp/drd-e2e-trial-cmdline
`

// hangUnit blocks the boot forever before sysinit.target (so before the
// agent and the boot check), as a unit that never finishes would.
const hangUnit = `[Unit]
Description=drd e2e: a boot that hangs
DefaultDependencies=no
Before=sysinit.target

[Service]
Type=oneshot
ExecStart=/bin/sleep infinity
TimeoutStartSec=infinity

[Install]
WantedBy=sysinit.target
`

func kexecScenario(t *testing.T, l Layout) {
	Require(t)
	ph := PhasesFor(t)
	vm := Boot(t, l, Options{BootTimeout: 10 * time.Minute})
	wantRoot(t, vm, SysSerial, "first boot")
	target := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + TargetSerial))
	ph.Time("clone", func() { t.Log(vm.MustRun("drd clone -t " + target + " 2>&1")) })
	t.Logf("guest: %s", vm.MustRun("uname -r; systemctl --version | head -n 1; cat /proc/sys/kernel/kexec_load_disabled"))

	// 1. -x reboot=soft on Debian 12: refused with its reason, nothing changed.
	r := vm.Run("drd activate -x trial=true -x reboot=soft 2>&1")
	if r.Code == 0 || !strings.Contains(r.Stdout, "systemd 252 < 254") {
		t.Fatalf("1. drd activate -x reboot=soft on systemd 252: exit %d, want 1 and the reason\n%s", r.Code, r.Stdout)
	}
	t.Logf("1. soft refused:\n%s", r.Stdout)
	if st := readStatus(t, vm); st.Activated != "sysimage_000" || st.Boot == nil || st.Boot.Trial != "" {
		t.Fatalf("1. after the refusal: %+v", st)
	} else if s, _ := st.state("sysimage_001"); s != "complete" {
		t.Fatalf("1. after the refusal the clone is %q, want complete", s)
	}
	t.Log(vm.MustRun("drd activate -p -v -x trial=true -x reboot=auto 2>&1"))

	// 2. A kexec trial into a good clone: confirmed by its boot check; the
	// persistent target is the original's until then.
	vm.MustRun(`set -e; m=$(drd mount -q); mkdir -p $m/etc/drd/checks.d
cat > $m/etc/drd/checks.d/10-record <<'EOF2'
` + duringTrial + `EOF2
chmod 755 $m/etc/drd/checks.d/10-record; drd umount -q`)
	before := vm.boots
	kernels := kexecSwitch(t, vm, "drd activate -x trial=true -x reboot=kexec", 2)
	wantRoot(t, vm, TargetSerial, "2. kexec trial")
	if n := vm.boots - before; n != 1 || kernels != 1 {
		t.Fatalf("2. a kexec trial took %d boots and %d kernels, want 1 and 1 (no firmware reboot)", n, kernels)
	}
	cmdline := vm.MustRun("cat /var/tmp/drd-e2e-trial-cmdline")
	for _, a := range []string{"drd.trial=sysimage_001", "panic=10", "softdog.soft_active_on_boot=1"} {
		if !strings.Contains(cmdline, a) {
			t.Errorf("2. the trial's command line lacks %s: %s", a, cmdline)
		}
	}
	var during status
	if err := json.Unmarshal([]byte(vm.MustRun("cat /var/tmp/drd-e2e-trial-status.json")), &during); err != nil {
		t.Fatal(err)
	}
	if during.Boot == nil || during.Boot.Next != "sysimage_000" || during.Boot.Trial != "" {
		t.Fatalf("2. during the trial the persistent target is %+v, want sysimage_000 and no GRUB trial", during.Boot)
	} else if s, _ := during.state("sysimage_001"); s != "trial" {
		t.Fatalf("2. during the trial the clone is %q, want trial", s)
	}
	if l.Firmware == UEFI {
		b := parseEFIBootMgr(vm.MustRun("cat /var/tmp/drd-e2e-trial-efi.txt"))
		if len(b.Order) == 0 || b.Order[0] != b.Entry(efiEntryOf("sysimage_000")) || b.Next != "" {
			t.Fatalf("2. during the trial: BootOrder %v, BootNext %q; want the original first and no BootNext", b.Order, b.Next)
		}
	}
	st := readStatus(t, vm)
	if st.Booted.Name != "sysimage_001" || st.Activated != "sysimage_001" || st.Boot == nil || st.Boot.Next != "sysimage_001" {
		t.Fatalf("2. after the confirmed trial: %+v", st)
	} else if s, _ := st.state("sysimage_001"); s != "good" {
		t.Fatalf("2. the trial image is %q, want good", s)
	}
	wantEFI(t, vm, l, "2. confirmed kexec trial", "", "sysimage_001", "")
	if r := vm.Run(`grep -nE '^[[:space:]]*linux .*(softdog|drd\.trial=)' /boot/grub/drd.cfg`); r.Code == 0 {
		t.Errorf("2. the trial's arguments went into drd's menu for every boot:\n%s", r.Stdout)
	}
	if out := vm.MustRun("journalctl -b -u drd-boot-check.service --no-pager"); !strings.Contains(out, "Stopped the trial's watchdog") {
		t.Errorf("2. the boot check did not stop the trial's watchdog:\n%s", out)
	}
	t.Log(vm.MustRun("drd status"))

	// 3. Back to the original by a lasting kexec switch.
	kexecSwitch(t, vm, "drd activate sysimage_000 -x reboot=kexec", 2)
	wantRoot(t, vm, SysSerial, "3. lasting kexec switch")
	wantEFI(t, vm, l, "3. lasting kexec switch", "", "sysimage_000", "")

	// 4. A clone that fails its health check: the boot check reboots, by
	// the firmware, into the original. The failing trials get a shorter
	// watchdog than the default 900 s: on a loaded host a trial boot may
	// time out waiting for its disks and stop in emergency mode, which
	// only the watchdog ends, and the harness waits 10 min for a boot
	// (seen in the first run).
	vm.MustRun(`set -e; m=$(drd mount -q)
printf '#!/bin/sh\necho the web server does not answer >&2\nexit 1\n' > $m/etc/drd/checks.d/50-web
chmod 755 $m/etc/drd/checks.d/50-web; drd umount -q`)
	failedTrial(t, vm, l, "4. failed health check", "drd activate -x trial=true -x reboot=kexec -x watchdog=300", "50-web")

	// 5. A clone whose init dies (/sbin/init is /bin/false): the kernel
	// panics, panic= reboots by the firmware into the original. (A
	// clone with no /sbin/init at all is not this: initramfs-tools then
	// starts the root's /bin/sh as init, which waits on the console, so
	// drd activate refuses such a clone: TestTrialRescue; docs/boot.md.)
	vm.MustRun(`set -e; m=$(drd mount -q); rm -f $m/etc/drd/checks.d/50-web
ln -sfn /bin/false $m/usr/sbin/init; drd umount -q`)
	failedTrial(t, vm, l, "5. init dies", "drd activate -x trial=true -x force=true -x reboot=kexec -x watchdog=300", "did not finish")
	if !vm.p.console.Contains("Kernel panic") {
		t.Error("5. no kernel panic on the console")
	}

	// 6. A clone that hangs before sysinit.target: its softdog resets it.
	vm.MustRun(`set -e; m=$(drd mount -q); ln -sfn ../lib/systemd/systemd $m/usr/sbin/init
printf '%s' '` + hangUnit + `' > $m/etc/systemd/system/drd-e2e-hang.service
mkdir -p $m/etc/systemd/system/sysinit.target.wants
ln -s ../drd-e2e-hang.service $m/etc/systemd/system/sysinit.target.wants/drd-e2e-hang.service
drd umount -q`)
	ph.Time("hanging trial", func() {
		failedTrial(t, vm, l, "6. hang", "drd activate -x trial=true -x force=true -x reboot=kexec -x watchdog=120", "did not finish")
	})
	if !vm.p.console.Contains("Initiating system reboot") {
		t.Error("6. the console never showed softdog's reset (Initiating system reboot)")
	}
	t.Log(vm.MustRun("drd status"))
}

// kexecSwitch runs cmd (a drd activate that restarts the machine) in the
// guest and waits for a boot that stays up; it returns how many kernels
// started on the way (Linux version lines on the console).
func kexecSwitch(t *testing.T, vm *VM, cmd string, maxBoots int) int {
	t.Helper()
	t.Log(vm.MustRun(strings.Replace(cmd, "drd activate", "drd activate -p -v", 1) + " 2>&1"))
	prev := vm.bootID
	mark := vm.p.console.size()
	if _, _, err := vm.p.agent.start(cmd + " >/var/tmp/drd-e2e-activate.log 2>&1"); err != nil {
		t.Fatal(err)
	}
	PhasesFor(t).Time("switch "+vm.Name, func() { settle(t, vm, prev, maxBoots) })
	return strings.Count(vm.p.console.since(mark), "Linux version ")
}

// failedTrial starts a kexec trial by cmd into a clone that fails (its
// checks, its boot, or hangs) and checks that the original comes back
// by itself: two kernels (the trial's, then the firmware's boot of the
// original), no reset from the harness, the clone bad for why.
func failedTrial(t *testing.T, vm *VM, l Layout, step, cmd, why string) {
	t.Helper()
	kernels := kexecSwitch(t, vm, cmd, 3)
	wantRoot(t, vm, SysSerial, step)
	if kernels != 2 {
		t.Errorf("%s: %d kernels started, want 2 (the trial's by kexec, the original's by the firmware)", step, kernels)
	}
	st := readStatus(t, vm)
	if st.Activated != "sysimage_000" || st.Boot == nil || st.Boot.Next != "sysimage_000" {
		t.Fatalf("%s: %+v, want sysimage_000 the target", step, st)
	} else if s, reason := st.state("sysimage_001"); s != "bad" || !strings.Contains(reason, why) {
		t.Fatalf("%s: the clone is %q (%s), want bad: %s", step, s, reason, why)
	}
	wantEFI(t, vm, l, step, "sysimage_000", "sysimage_000", "")
	t.Logf("%s: back on the original by itself (%d kernels, no reset by the harness)", step, kernels)
}

// size is the console's length so far, a mark for since.
func (c *console) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.buf)
}

// since is what the console showed after mark (from size).
func (c *console) since(mark int) string {
	c.mu.Lock()
	s := string(c.buf[mark:])
	c.mu.Unlock()
	return strings.ReplaceAll(ansi.ReplaceAllString(s, ""), "\r", "")
}

// TestKexecInitramfsHang: a kexec trial into a clone whose initramfs
// hangs (before systemd, so before systemd-modules-load would load
// softdog): the softdog drd appends to the trial's initramfs resets the
// machine, and the original comes back by the firmware, by itself.
func TestKexecInitramfsHang(t *testing.T) {
	vm := initramfsHangClone(t, 10*time.Minute)
	failedTrial(t, vm, LayoutBIOS, "initramfs hang", "drd activate -x trial=true -x reboot=kexec -x watchdog=60", "did not finish")
	wantConsole(t, vm, "drd: the trial's watchdog is armed in the initramfs (60 s)", "drd-e2e: hanging in the initramfs")
}

// TestFirmwareInitramfsHang: the same hang on a trial by GRUB: its trial
// entry loads the archive drd wrote into the clone's /boot/drd after the
// initramfs, with the trial's own deadline (-x watchdog=120: from the
// block to the menu's command line, which the archive reads).
func TestFirmwareInitramfsHang(t *testing.T) {
	vm := initramfsHangClone(t, 12*time.Minute)
	failedTrial(t, vm, LayoutBIOS, "initramfs hang (GRUB trial)", "drd activate -x trial=true -x tries=1 -x reboot=firmware -x watchdog=120", "did not come up")
	wantConsole(t, vm, "drd: the trial's watchdog is armed in the initramfs (120 s)", "drd-e2e: hanging in the initramfs")
}

// initramfsHangClone boots layout (a), clones it and gives the clone's
// initramfs a conf.d file that never returns (initramfs-tools' /init
// sources conf/conf.d/* in order: drd's drd-trial-watchdog comes first).
// bootTimeout is how long the harness waits for a boot.
func initramfsHangClone(t *testing.T, bootTimeout time.Duration) *VM {
	Require(t)
	vm := Boot(t, LayoutBIOS, Options{BootTimeout: bootTimeout})
	target := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + TargetSerial))
	PhasesFor(t).Time("clone", func() { t.Log(vm.MustRun("drd clone -t " + target + " 2>&1")) })
	vm.MustRun(`set -e; m=$(drd mount -q); d=$(mktemp -d); mkdir -p $d/conf/conf.d
printf 'echo "drd-e2e: hanging in the initramfs"\nwhile :; do sleep 60; done\n' > $d/conf/conf.d/zz-drd-e2e-hang
i=$(ls $m/boot/initrd.img-* | head -n 1)
(cd $d && find conf | cpio -o -H newc --quiet) > /var/tmp/hang.cpio
s=$(stat -c %s $i); head -c $(( (4 - s % 4) % 4 )) /dev/zero >> $i; cat /var/tmp/hang.cpio >> $i
drd umount -q`)
	return vm
}

// wantConsole checks that the console showed each of want.
func wantConsole(t *testing.T, vm *VM, want ...string) {
	t.Helper()
	for _, w := range want {
		if !vm.p.console.Contains(w) {
			t.Errorf("the console never showed %q", w)
		}
	}
}

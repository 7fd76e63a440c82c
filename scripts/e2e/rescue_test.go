package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestTrialRescue is the last gap of issue 18's "no power cycle needed
// for any failed trial", on layout (a) BIOS: (1) drd activate refuses a
// clone without /sbin/init (its kernel would start a shell that waits
// on the console), in preview too, and changes nothing; (2) a kexec
// trial whose clone waits for a disk that never shows up stops in
// emergency mode, and drd-trial-rescue.service reboots it after its 30 s
// grace, long before the watchdog's default 900 s: the next boot is the
// original, by itself.
func TestTrialRescue(t *testing.T) {
	Require(t)
	l := LayoutBIOS
	ph := PhasesFor(t)
	vm := Boot(t, l, Options{BootTimeout: 10 * time.Minute})
	wantRoot(t, vm, SysSerial, "first boot")
	target := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + TargetSerial))
	ph.Time("clone", func() { t.Log(vm.MustRun("drd clone -t " + target + " 2>&1")) })
	vm.MustRun("systemctl cat drd-trial-rescue.service >/dev/null; test -L /etc/systemd/system/emergency.target.wants/drd-trial-rescue.service")

	// 1. No init in the clone: refused, with -p too; nothing changed.
	vm.MustRun(`set -e; m=$(drd mount -q); test -L $m/usr/sbin/init; mv $m/usr/sbin/init $m/usr/sbin/init.e2e; drd umount -q`)
	for _, cmd := range []string{"drd activate -p -x trial=true -x reboot=kexec", "drd activate -x trial=true -x reboot=kexec", "drd activate -x reboot=true"} {
		r := vm.Run(cmd + " 2>&1")
		if r.Code != 1 || !strings.Contains(r.Stdout, "/sbin/init is missing") || !strings.Contains(r.Stdout, "apt-get install --reinstall systemd-sysv") {
			t.Errorf("1. %s without /sbin/init in the clone: exit %d, want 1 and what to do\n%s", cmd, r.Code, r.Stdout)
		}
	}
	if st := readStatus(t, vm); st.Activated != "sysimage_000" || st.Boot == nil || st.Boot.Trial != "" {
		t.Fatalf("1. a refused activation changed the boot target: %+v", st)
	}
	vm.MustRun(`set -e; m=$(drd mount -q); mv $m/usr/sbin/init.e2e $m/usr/sbin/init; drd umount -q`)

	// 2. The clone's fstab needs a disk that never shows up: its trial
	// stops in emergency mode; the rescue unit reboots it by the
	// firmware into the original. The watchdog stays at its 900 s, more
	// than the harness waits for a boot (10 min): only the unit ends it.
	vm.MustRun(`set -e; m=$(drd mount -q); mkdir -p $m/mnt/drd-e2e-gone
echo 'UUID=0e2e0e2e-0000-4000-8000-000000000001 /mnt/drd-e2e-gone ext4 defaults,x-systemd.device-timeout=5s 0 2' >> $m/etc/fstab
drd umount -q`)
	mark := vm.p.console.size()
	start := time.Now()
	ph.Time("emergency trial", func() {
		failedTrial(t, vm, l, "2. emergency mode", "drd activate -x trial=true -x reboot=kexec", "did not finish")
	})
	took := time.Since(start)
	con := vm.p.console.since(mark)
	for _, want := range []string{"drd: this trial boot stopped in emergency or rescue mode; rebooting in 30 s"} {
		if !strings.Contains(con, want) {
			t.Errorf("2. the console never showed %q", want)
		}
	}
	if took > 900*time.Second {
		t.Errorf("2. the emergency trial took %s to come back: the watchdog's time, not the rescue unit's", took)
	}
	t.Logf("2. back on the original in %s (activate to the original's agent)", took.Round(time.Second))
	t.Log(vm.MustRun("journalctl -b -u drd-boot-check.service --no-pager | tail -n 30"))
	t.Log(vm.MustRun("drd status"))
}

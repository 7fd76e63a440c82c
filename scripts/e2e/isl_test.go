package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drd-linux/drd/bootenv"
)

// TestISL is issue 7's proof on layouts (a) BIOS and (c) UEFI, and
// issue 19's on (b) LVM, one VM each: a clone that cannot boot is
// activated; from GRUB's menu the STAGEISL entry (drd isl install) lists
// the images, shows the broken clone as the boot target, sets the
// original back and boots it by kexec; a later plain reboot boots the
// original too. On LVM then the clone is mended, the original's disk
// pulled, and STAGEISL (from the clone disk's GRUB) lists and boots the
// clone on its drd_sysvg.
func TestISL(t *testing.T) {
	for _, l := range onReleases(LayoutBIOS, LayoutUEFI, LayoutLVM) {
		t.Run(l.Name, func(t *testing.T) { islScenario(t, l, false) })
	}
}

// TestISLDirect is the same with the ISL booted directly by QEMU
// (-kernel the guest's kernel, -initrd the ISL and its modules), without
// drd isl install or GRUB: the prompt against real images.
func TestISLDirect(t *testing.T) {
	for _, l := range onReleases(LayoutBIOS, LayoutUEFI) {
		t.Run(l.Name, func(t *testing.T) { islScenario(t, l, true) })
	}
}

// islStarted is what the GRUB entry of drd isl install prints as it
// starts (bootenv's drd.cfg).
const islStarted = `Loading STAGEISL \.\.\.`

// islTimeout bounds one STAGEISL command (a scan mounts every file system).
const islTimeout = 3 * time.Minute

func islScenario(t *testing.T, l Layout, direct bool) {
	Require(t)
	ph := PhasesFor(t)
	vm := Boot(t, l, Options{BootTimeout: 10 * time.Minute})
	wantRoot(t, vm, SysSerial, "first boot")
	target := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + TargetSerial))
	ph.Time("clone", func() { vm.MustRun("drd clone -t " + target) })
	if !direct {
		ph.Time("isl install", func() { t.Log(vm.MustRun("drd isl install 2>&1")) })
		checkISLInstalled(t, vm)
	}

	// A clone that cannot boot (its init is gone), made the lasting boot target.
	vm.MustRun(`set -e; m=$(drd mount -q); ln -sfn /bin/false $m/usr/sbin/init; drd umount -q`)
	t.Log(vm.MustRun("drd activate -x force=true 2>&1"))
	if st := readStatus(t, vm); st.Activated != "sysimage_001" || (st.Boot != nil && st.Boot.Trial != "") {
		t.Fatalf("after drd activate -x force=true: %+v, want sysimage_001 activated, no trial", st)
	}
	var orderBefore string
	if l.Firmware == UEFI {
		orderBefore = vm.MustRun("efibootmgr -v")
		t.Logf("before STAGEISL:\n%s", orderBefore)
	}

	// Into STAGEISL: by GRUB's menu, or by QEMU's direct kernel boot.
	var t0 time.Time
	if direct {
		islDirectBoot(t, vm, l)
	} else {
		vm.p.console.Skip()
		if _, _, err := vm.p.agent.start("systemctl reboot"); err != nil {
			t.Fatal(err)
		}
		ph.Time("reboot to GRUB", func() { vm.ChooseGRUBEntry(bootenv.RecoveryHotkey, islStarted, 5*time.Minute) })
	}
	ph.Time("to STAGEISL prompt", func() {
		t1 := time.Now()
		vm.Wait(`Linux version`, 5*time.Minute)
		t0 = time.Now()
		t.Logf("ISL: loading to the kernel's first line (firmware or GRUB reading the kernel and initramfs, decompression): %.1fs", t0.Sub(t1).Seconds())
		vm.WaitISL(3 * time.Minute)
	})
	t.Logf("ISL: kernel's first line to STAGEISL prompt: %.1fs", time.Since(t0).Seconds())

	list := vm.ISL("list", islTimeout)
	wantLine(t, list, `sysimage_000\s+\S+\s+\S+`, "list: the original")
	wantLine(t, list, `sysimage_001 \*\s+\S+\s+activated`, "list: the broken clone, the boot target")
	wantLine(t, vm.ISL("status", islTimeout), `Boot target:\s+sysimage_001\b`, "status before set")
	wantLine(t, vm.ISL("set sysimage_000", islTimeout), `sysimage_000 is the boot target\.`, "set sysimage_000")
	wantLine(t, vm.ISL("status", islTimeout), `Boot target:\s+sysimage_000\b`, "status after set")
	wantLine(t, vm.ISL("bogus", islTimeout), `^error: unknown command`, "bad input")

	// boot kexecs into the original, which comes up.
	vm.Send("boot\n")
	ph.Time("boot by kexec", func() {
		vm.Wait(`Booting sysimage_000 \.\.\.`, islTimeout)
		settle(t, vm, vm.bootID, 2)
	})
	wantRoot(t, vm, SysSerial, "booted by STAGEISL")
	if st := readStatus(t, vm); st.Activated != "sysimage_000" {
		t.Fatalf("after STAGEISL's set: activated %q, want sysimage_000", st.Activated)
	}
	if l.Firmware == UEFI {
		after := vm.MustRun("efibootmgr -v")
		t.Logf("after STAGEISL's set:\n%s", after)
		checkBootOrderSet(t, orderBefore, after)
	}

	// A plain reboot boots the original too: the set persisted.
	if direct {
		restartMachine(t, vm, vm.m, "plain")
	} else {
		rebootSettled(t, vm, 2)
	}
	wantRoot(t, vm, SysSerial, "plain reboot after STAGEISL")
	t.Log(vm.MustRun("drd status"))
	if len(l.VGs) > 0 && !direct {
		islWithoutOriginal(t, vm)
	}
}

// islWithoutOriginal mends the clone (its init back), pulls the
// original's disk and boots STAGEISL from the clone disk's GRUB: list
// shows the clone (its VG activated by STAGEISL) and not the original,
// set and boot start the clone.
func islWithoutOriginal(t *testing.T, vm *VM) {
	t.Helper()
	ph := PhasesFor(t)
	vm.MustRun(`set -e; m=$(drd mount -q); ln -sfn "$(readlink /usr/sbin/init)" $m/usr/sbin/init; drd umount -q`)
	vm.Shutdown()
	m := vm.m
	m.Drives = nil
	for i, d := range vm.m.Drives {
		if d.Serial == SysSerial {
			continue
		}
		d.Slot = vm.m.slot(i)
		d.Boot = d.Serial == TargetSerial // SeaBIOS: the clone's disk and its GRUB
		m.Drives = append(m.Drives, d)
	}
	startMachine(t, vm, m, "isl-without-"+SysSerial)
	ph.Time("to STAGEISL without the original's disk", func() {
		vm.ChooseGRUBEntry(bootenv.RecoveryHotkey, islStarted, 5*time.Minute)
		vm.WaitISL(3 * time.Minute)
	})
	list := vm.ISL("list", islTimeout)
	wantLine(t, list, `sysimage_001\b.*\s(complete|activated)\s`, "list without the original's disk: the clone")
	if strings.Contains(list, "sysimage_000") {
		t.Errorf("list shows the original, whose disk is gone:\n%s", list)
	}
	wantLine(t, vm.ISL("set sysimage_001", islTimeout), `sysimage_001 is the boot target\.`, "set sysimage_001")
	vm.Send("boot\n")
	ph.Time("boot the clone by kexec", func() {
		vm.Wait(`Booting sysimage_001 \.\.\.`, islTimeout)
		settle(t, vm, vm.bootID, 2)
	})
	wantRoot(t, vm, TargetSerial, "booted by STAGEISL without the original's disk")
	t.Log(vm.MustRun("drd status"))
}

// islDirectBoot powers the VM off and starts it again with QEMU's direct
// kernel boot: the guest's kernel, the ISL initramfs with the modules
// cpio appended, on the serial console.
func islDirectBoot(t *testing.T, vm *VM, l Layout) {
	t.Helper()
	img, _, err := EnsureImages(context.Background(), l, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	isl, err := islImage(context.Background(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	mods := filepath.Join(vm.dir, "isl-modules.cpio")
	if err := islModules(img.Base, mods); err != nil {
		t.Fatal(err)
	}
	initrd := filepath.Join(vm.dir, "isl-initrd.img")
	if err := concatFiles(initrd, isl, mods); err != nil {
		t.Fatal(err)
	}
	m := vm.m
	m.Kernel, m.Initrd, m.Append = img.Base.Kernel, initrd, "console=ttyS0,115200"
	m.Drives = append([]drive(nil), vm.m.Drives...)
	for i := range m.Drives {
		m.Drives[i].Boot = false // QEMU's -kernel takes boot index 0
	}
	vm.Shutdown()
	startMachine(t, vm, m, "isl-direct")
}

// restartMachine powers the VM off, starts it again as m (same disk
// files) and waits for a boot that stays up.
func restartMachine(t *testing.T, vm *VM, m machine, name string) {
	t.Helper()
	vm.Shutdown()
	startMachine(t, vm, m, name)
	PhasesFor(t).Time("boot "+name, func() { settle(t, vm, "", 2) })
}

// startMachine starts QEMU as m for vm, logs in a directory name under
// the VM's.
func startMachine(t *testing.T, vm *VM, m machine, name string) {
	t.Helper()
	dir := filepath.Join(vm.LogDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := startQEMU(context.Background(), m, dir, true)
	if err != nil {
		t.Fatal(err)
	}
	vm.p = p
}

// checkISLInstalled checks that drd status reports STAGEISL on both
// images and that their /boot/drd holds its files.
func checkISLInstalled(t *testing.T, vm *VM) {
	t.Helper()
	var st struct {
		ISL []struct {
			Image  string `json:"image"`
			Kernel string `json:"kernel"`
		} `json:"isl"`
	}
	out := vm.MustRun("drd status --json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("drd status --json: %v\n%s", err, out)
	}
	var images []string
	for _, i := range st.ISL {
		images = append(images, i.Image)
	}
	if strings.Join(images, " ") != "sysimage_000 sysimage_001" {
		t.Fatalf("after drd isl install, drd status --json says STAGEISL is on %v, want sysimage_000 and sysimage_001\n%s", images, out)
	}
	t.Log(vm.MustRun(`set -e; ls -l /boot/drd; m=$(drd mount -q); ls -l $m/boot/drd; drd umount -q
grep -A4 "drd recovery (STAGEISL)" /boot/grub/drd.cfg`))
}

// wantLine fails t unless some line of out matches pattern.
func wantLine(t *testing.T, out, pattern, what string) {
	t.Helper()
	re := regexp.MustCompile(`(?m)` + pattern)
	if !re.MatchString(out) {
		t.Fatalf("%s: no line matches %q in:\n%s", what, pattern, out)
	}
}

// checkBootOrderSet checks, from efibootmgr -v before and after, that
// the clone's entry was first in BootOrder and the original's is now.
func checkBootOrderSet(t *testing.T, before, after string) {
	t.Helper()
	first := func(out string) string {
		m := regexp.MustCompile(`(?m)^BootOrder: ([0-9A-Fa-f]{4})`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no BootOrder in:\n%s", out)
		}
		e := regexp.MustCompile(`(?m)^Boot` + m[1] + `\*? (.*)$`).FindStringSubmatch(out)
		if e == nil {
			t.Fatalf("no entry Boot%s in:\n%s", m[1], out)
		}
		return e[1]
	}
	b, a := first(before), first(after)
	if !strings.Contains(b, "sysimage_001") {
		t.Errorf("before STAGEISL's set, BootOrder starts with %q, want the clone's entry", b)
	}
	if strings.Contains(a, "sysimage_001") {
		t.Errorf("after STAGEISL's set sysimage_000, BootOrder still starts with the clone's entry %q", a)
	}
	t.Logf("BootOrder first: before %q, after %q", b, a)
}

// TestISLFirmware boots STAGEISL by the firmware entry drd isl install
// makes on UEFI (Boot#### "drd recovery (STAGEISL)": the kernel's EFI
// stub, no GRUB), once, by BootNext: the prompt lists the images and
// reboot returns to the original.
func TestISLFirmware(t *testing.T) {
	for _, l := range onReleases(LayoutUEFI) {
		t.Run(l.Name, func(t *testing.T) { islFirmware(t, l) })
	}
}

func islFirmware(t *testing.T, l Layout) {
	Require(t)
	ph := PhasesFor(t)
	vm := Boot(t, l, Options{BootTimeout: 10 * time.Minute})
	target := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + TargetSerial))
	ph.Time("clone", func() { vm.MustRun("drd clone -t " + target) })
	ph.Time("isl install", func() { t.Log(vm.MustRun("drd isl install 2>&1")) })
	entries := vm.MustRun("efibootmgr -v")
	esp := strings.TrimSpace(vm.MustRun("blkid -s PARTUUID -o value $(findmnt -no SOURCE /boot/efi)"))
	num := islFirmwareEntry(entries, esp)
	if num == "" {
		t.Fatalf("no Boot#### %q on the booted ESP (PARTUUID %s):\n%s", bootenv.RecoveryTitle, esp, entries)
	}
	t.Log(vm.MustRun("efibootmgr -n " + num))

	vm.p.console.Skip()
	if _, _, err := vm.p.agent.start("systemctl reboot"); err != nil {
		t.Fatal(err)
	}
	var before []string
	ph.Time("reboot to STAGEISL", func() { before = vm.Wait(`(?s)(.*?)`+islPromptRE.String(), 5*time.Minute) })
	if strings.Contains(before[1], "GNU GRUB") {
		t.Errorf("GRUB ran on the way to STAGEISL by Boot%s: the firmware entry should start the kernel itself", num)
	}
	list := vm.ISL("list", islTimeout)
	wantLine(t, list, `sysimage_000 \*\s+\S+`, "list: the original, the boot target")
	wantLine(t, list, `sysimage_001\s+\S+`, "list: the clone")
	vm.Send("reboot\n")
	ph.Time("reboot from STAGEISL", func() { settle(t, vm, vm.bootID, 2) })
	wantRoot(t, vm, SysSerial, "reboot from STAGEISL")
	if out := vm.MustRun("efibootmgr"); strings.Contains(out, "BootNext") {
		t.Errorf("BootNext is still set after the boot into STAGEISL:\n%s", out)
	}
}

// islFirmwareEntry is the number of the Boot#### named
// bootenv.RecoveryTitle whose device path is on the partition with
// PARTUUID esp, in efibootmgr -v's output; "" if there is none.
func islFirmwareEntry(efibootmgr, esp string) string {
	re := regexp.MustCompile(`(?m)^Boot([0-9A-Fa-f]{4})\*? ` + regexp.QuoteMeta(bootenv.RecoveryTitle) + `\s.*$`)
	for _, m := range re.FindAllStringSubmatch(efibootmgr, -1) {
		if strings.Contains(strings.ToLower(m[0]), strings.ToLower(esp)) {
			return m[1]
		}
	}
	return ""
}

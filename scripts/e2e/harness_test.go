package e2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestHarness proves the harness without drd, on the LVM layout: commands
// and their output, the boot device, a reboot, a hard reset, the console,
// timeouts, and the host-side fsck of a disk with LVM on it.
func TestHarness(t *testing.T) {
	Require(t)
	vm := Boot(t, LayoutLVM, Options{NoDRD: true, Debs: []Deb{{
		Package: "drd-e2e-hello", Install: true,
		Files:   map[string]DebFile{"/usr/bin/drd-e2e-hello": {Content: "#!/bin/sh\necho hello from a .deb\n", Mode: 0o755}},
		Scripts: map[string]string{"postinst": "#!/bin/sh\ntouch /var/lib/drd-e2e-hello.installed\n"},
	}}})

	r := vm.Run("echo out; echo err >&2; exit 3")
	if r.Stdout != "out\n" || r.Stderr != "err\n" || r.Code != 3 {
		t.Errorf("Run = %+v, want stdout out, stderr err, exit 3", r)
	}
	b := vm.BootInfo()
	if b.RootSerial != SysSerial || b.RootSource != "/dev/mapper/sysvg-root" || b.EFI {
		t.Errorf("boot info %+v: want / on /dev/mapper/sysvg-root on disk %s, BIOS", b, SysSerial)
	}
	if !strings.Contains(b.Cmdline, "root=/dev/mapper/sysvg-root") {
		t.Errorf("kernel command line %q does not name the root LV", b.Cmdline)
	}
	vm.MustRun(`set -e
test "$(findmnt -no SOURCE /var)" = /dev/mapper/sysvg-var
findmnt -no SOURCE /home | grep -q '^/dev/vdb1$'
test "$(drd-e2e-hello)" = "hello from a .deb"
test -e /var/lib/drd-e2e-hello.installed
ls /run/drd-e2e/debs/drd-e2e-hello_1.0_all.deb
echo persisted > /root/mark; sync`)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, err := vm.Exec(ctx, "sleep 30")
	cancel()
	if err == nil || !strings.Contains(err.Error(), "did not end in time") || !strings.Contains(err.Error(), "last 40 lines of console") {
		t.Errorf("a command that outlives its timeout gave %v", err)
	}

	id := vm.BootID()
	vm.Reboot()
	if vm.BootID() == id {
		t.Fatal("the boot ID did not change across Reboot")
	}
	vm.Wait(`drd-e2e login: root \(automatic login\)`, 60*time.Second)
	if got := vm.MustRun("cat /root/mark"); got != "persisted\n" {
		t.Errorf("after a reboot /root/mark holds %q", got)
	}
	vm.MustRun("ls /run/drd-e2e/debs/drd-e2e-hello_1.0_all.deb")

	id = vm.BootID()
	vm.Reset()
	if vm.BootID() == id {
		t.Fatal("the boot ID did not change across Reset")
	}
	vm.Shutdown()

	checks, err := FsckImage(context.Background(), vm.Disk(SysSerial), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range checks {
		got = append(got, c.String())
		if !c.Clean {
			t.Errorf("fsck of %s of the system disk:\n%s", c.Where, c.Output)
		}
	}
	want := "partition 1 (): clean|partition 2 (vfat): clean|partition 3 (ext4): clean|LV sysvg/root (ext4): clean|LV sysvg/var (ext4): clean"
	if strings.Join(got, "|") != want {
		t.Errorf("fsck of the system disk:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.ReplaceAll(want, "|", "\n"))
	}
}

// TestUEFI boots layout (c) with OVMF and checks that a change to the EFI
// variables survives a reboot.
func TestUEFI(t *testing.T) {
	Require(t)
	vm := Boot(t, LayoutUEFI, Options{NoDRD: true, Disks: []Extra{}})
	b := vm.BootInfo()
	if !b.EFI || b.RootSerial != SysSerial {
		t.Fatalf("boot info %+v: want an EFI boot from %s", b, SysSerial)
	}
	vm.MustRun("efibootmgr -v | grep -i 'debian.*grubx64.efi'")
	vm.MustRun("efibootmgr -q -c -d /dev/vda -p 1 -L drd-e2e-test -l '\\EFI\\BOOT\\BOOTX64.EFI'")
	vm.Reboot()
	if out := vm.MustRun("efibootmgr"); !strings.Contains(out, "drd-e2e-test") {
		t.Errorf("the boot entry made before the reboot is gone:\n%s", out)
	}
}

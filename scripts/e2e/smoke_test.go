package e2e

import (
	"context"
	"strings"
	"testing"
)

// TestSmoke is issue 3's proof on layouts (a) and (b): boot, drd status,
// drd clone to the empty disk, drd mount, check files and the rewritten
// fstab in the clone, drd umount, shut down, then fsck every file system
// of the clone disk on the host.
func TestSmoke(t *testing.T) {
	for _, l := range onReleases(LayoutBIOS, LayoutLVM) {
		t.Run(l.Name, func(t *testing.T) { smoke(t, l) })
	}
}

// cloneMount is where drd mount mounts the first clone.
const cloneMount = "/var/opt/drd/mnts/sysimage_001"

func smoke(t *testing.T, l Layout) {
	Require(t)
	ph := PhasesFor(t)
	vm := Boot(t, l, Options{})
	if b := vm.BootInfo(); b.RootSerial != SysSerial {
		t.Fatalf("booted from %s (%s), want the system disk %s", b.RootDisk, b.RootSerial, SysSerial)
	}
	target := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + TargetSerial))

	t.Log(vm.MustRun("drd status"))
	ph.Time("clone", func() { t.Log(vm.MustRun("drd clone -t " + target)) })
	ph.Time("mount", func() {
		if out := vm.MustRun("drd mount"); !strings.Contains(out, cloneMount) {
			t.Fatalf("drd mount did not print %s:\n%s", cloneMount, out)
		}
	})
	ph.Time("check clone", func() {
		// The same files, the file systems they belong to, the boot loader.
		vm.MustRun(`set -e; m=` + cloneMount + `
for f in /etc/os-release /etc/passwd /usr/bin/ls /usr/sbin/drd /etc/default/grub; do cmp "$f" "$m$f"; done
ls "$m"/boot/vmlinuz-* "$m"/boot/initrd.img-* "$m"/boot/grub/grub.cfg "$m"/boot/efi/EFI/BOOT/BOOTX64.EFI
grep -q 'file system of /$' "$m/drd-e2e-fs.txt"
grep -q 'file system of /boot$' "$m/boot/drd-e2e-fs.txt"
grep -q 'file system of /boot/efi$' "$m/boot/efi/drd-e2e-fs.txt"`)
		if len(l.VGs) > 0 {
			vm.MustRun(`grep -q 'file system of /var$' ` + cloneMount + `/var/drd-e2e-fs.txt`)
		}
		checkClonedFstab(t, vm, l)
	})
	ph.Time("umount", func() {
		vm.MustRun("drd umount")
		if r := vm.Run("findmnt " + cloneMount); r.Code == 0 {
			t.Fatalf("%s is still mounted after drd umount:\n%s", cloneMount, r.Stdout)
		}
	})
	vm.Shutdown()
	ph.Time("fsck", func() {
		checks, err := FsckDisk(context.Background(), vm.Disk(TargetSerial))
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, c := range checks {
			t.Logf("fsck of the clone disk: %s", c)
			if !c.Clean {
				t.Errorf("fsck of %s of the clone disk:\n%s", c.Where, c.Output)
			}
			if c.Type != "" {
				found++
			}
		}
		if found < 3 {
			t.Errorf("the clone disk holds %d file systems, want at least 3 (/, /boot, /boot/efi)", found)
		}
	})
}

// fstabDisks prints, for every line of the fstab $1, the mount point, the
// source and the serial of the disk that source is on ("-" if not found).
const fstabDisks = `grep -v '^[[:space:]]*#' "$1" | while read -r src mp rest; do
	[ -n "$src" ] || continue
	dev=$(findfs "$src" 2>/dev/null || echo "$src")
	serial=$(lsblk -nrso TYPE,SERIAL "$dev" 2>/dev/null | awk '$1=="disk"{print $2}' | sort -u | tr '\n' ' ')
	echo "$mp|$src|${serial:--}"
done`

type fstabEntry struct{ source, serial string }

func readFstab(t *testing.T, vm *VM, path string) map[string]fstabEntry {
	t.Helper()
	out := vm.MustRun("set -- " + path + "\n" + fstabDisks)
	m := map[string]fstabEntry{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "|")
		if len(f) == 3 {
			m[f[0]] = fstabEntry{f[1], strings.TrimSpace(f[2])}
		}
	}
	return m
}

// checkClonedFstab checks that the clone's fstab names the clone's own
// file systems for the critical mount points, on the target disk, and the
// same file systems as the original for the shared ones.
func checkClonedFstab(t *testing.T, vm *VM, l Layout) {
	orig := readFstab(t, vm, "/etc/fstab")
	clone := readFstab(t, vm, cloneMount+"/etc/fstab")
	for _, mp := range l.MountPoints() {
		o, c := orig[mp], clone[mp]
		if c.source == "" {
			t.Errorf("the clone's fstab has no line for %s", mp)
			continue
		}
		if mp == "/home" {
			if c != o {
				t.Errorf("the clone's fstab mounts the shared %s from %s (disk %s), want %s as the original", mp, c.source, c.serial, o.source)
			}
			continue
		}
		if c.source == o.source || c.serial != TargetSerial {
			t.Errorf("the clone's fstab mounts %s from %s (disk %s), want a file system of the clone on %s (the original: %s)",
				mp, c.source, c.serial, TargetSerial, o.source)
		}
	}
}

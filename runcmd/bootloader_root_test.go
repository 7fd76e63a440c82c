package runcmd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/bootenv/grub"
	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/inroot"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/internal/testsys"
)

// TestRuncmdBootLoader: a package whose postinst does what grub-pc's
// does (grub-install on the disks debconf names, the booted system's,
// then update-grub) installs in the runcmd environment of a clone whose
// own disk carries GRUB for BIOS. The package is neutralized, not
// refused; nothing is written to the booted system's disk or /boot; drd
// installs GRUB again on the clone's disk (wiped here first) and marks
// the clone's grub.cfg for regeneration at its first boot.
func TestRuncmdBootLoader(t *testing.T) {
	if _, err := exec.LookPath("grub-install"); err != nil {
		t.Skip("needs grub-install (grub2-common) and GRUB for BIOS (grub-pc-bin)")
	}
	ctx := context.Background()
	requireRoot(t)
	s := testsys.ForTest(t, testsys.Options{})
	fstab, _ := os.ReadFile(filepath.Join(s.Root, "etc/fstab"))
	if err := untar(ctx, s.Root); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(s.Root, "etc/fstab"), fstab, 0o644)
	// The booted system boots with GRUB for BIOS, as grub-pc installs it.
	if err := exec.Command("cp", "-a", "/usr/lib/grub/i386-pc", filepath.Join(s.Root, "usr/lib/grub/")).Run(); err != nil {
		os.MkdirAll(filepath.Join(s.Root, "usr/lib/grub"), 0o755)
		if out, err := exec.Command("cp", "-a", "/usr/lib/grub/i386-pc", filepath.Join(s.Root, "usr/lib/grub/")).CombinedOutput(); err != nil {
			t.Fatalf("copying GRUB's modules: %v\n%s", err, out)
		}
	}
	os.MkdirAll(filepath.Join(s.Root, "boot/grub"), 0o755)
	os.WriteFile(filepath.Join(s.Root, "boot/grub/grub.cfg"), []byte("set default=0\n"), 0o644)
	os.WriteFile(filepath.Join(s.Root, "boot/vmlinuz-6.1.0-28-amd64"), []byte("kernel"), 0o644)
	os.WriteFile(filepath.Join(s.Root, "boot/initrd.img-6.1.0-28-amd64"), []byte("initrd"), 0o644)
	if out, err := grub.InstallGrubBIOS(ctx, execrun.Real{}, s.Root, filepath.Join(s.Root, "boot"), s.Disk); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("GRUB on the booted system's disk %s: %s", s.Disk, out)
	}

	file := filepath.Join(t.TempDir(), "clone.img")
	cleanupImage(t, s.Root, file)
	if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: file}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	// The clone's grub-pc names the booted system's disks, as a clone of
	// a Debian system does; the clone's disk loses its GRUB.
	inImage(t, s.Root, func(dir string) {
		disk := cloneDisk(t, dir)
		if !hasGRUB(t, disk) {
			t.Fatalf("the clone's disk %s has no GRUB after drd clone", disk)
		}
		conf := filepath.Join(dir, "var/cache/debconf/config.dat")
		old, _ := os.ReadFile(conf)
		stanza := fmt.Sprintf("Name: grub-pc/install_devices\nTemplate: grub-pc/install_devices\nValue: %s, /dev/disk/by-id/ata-DRD_BOOTED_DISK\nOwners: grub-pc\nFlags: seen\n\n", s.Disk)
		if err := os.WriteFile(conf, append(old, stanza...), 0o644); err != nil {
			t.Fatal(err)
		}
		wipe(t, disk, 0, 440)
		wipe(t, disk+"p1", 0, 1<<20)
		if hasGRUB(t, disk) {
			t.Fatal("the clone's boot sector still says GRUB after the wipe")
		}
	})

	depot := t.TempDir()
	os.Chmod(depot, 0o755)
	postinst := fmt.Sprintf(`#!/bin/sh
set -e
for i in %s /dev/disk/by-id/ata-DRD_BOOTED_DISK; do
	real_device="$(readlink -f "$i")"
	if [ ! -e "$real_device" ]; then echo "$real_device does not exist, so cannot grub-install to it!" >&2; exit 1; fi
	grub-install --target=i386-pc --force --no-floppy $real_device
done
update-grub 3>&-
echo configured > /var/log/drd-grub.log
`, s.Disk)
	deb := makeDeb(t, depot, "drd-grub", "", map[string]string{"postinst": postinst}, nil)
	booted := hashTree(t, s.Root, "boot", "usr/lib/grub", "var/lib/dpkg")
	head := hashBytes(t, s.Disk, 2<<20) // boot sector, GPT and BIOS-boot partition

	var mu sync.Mutex
	var said []string
	rep := report.Func(func(f string, a ...any) {
		mu.Lock()
		said = append(said, fmt.Sprintf(f, a...))
		mu.Unlock()
		t.Logf(f, a...)
	})
	outFile, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	exe, _ := os.Executable()
	err = Run(ctx, Options{Root: s.Root, Image: cloneName(t, ctx, s.Root), Argv: []string{"dpkg", "-i", deb}, Depots: []string{depot},
		Env: []string{"DEBIAN_FRONTEND=noninteractive"}, Stdio: Stdio{Out: outFile, Err: outFile}, Exe: exe}, rep)
	output, _ := os.ReadFile(outFile.Name())
	t.Logf("drd runcmd dpkg -i %s: %v\n%s", deb, err, output)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(said, "\n")
	for _, want := range []string{
		"install drd-grub 1.0-1: neutralized by the runcmd environment",
		"skipped in the runcmd environment: grub-install --target=i386-pc --force --no-floppy " + s.Disk,
		"skipped in the runcmd environment: grub-install --target=i386-pc --force --no-floppy /dev/disk/by-id/ata-DRD_BOOTED_DISK",
		"skipped in the runcmd environment: update-grub",
		"Installing GRUB for BIOS on /dev/loop",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("drd runcmd did not say %q", want)
		}
	}
	if !bytes.Contains(output, []byte(`drd runcmd: skipped "grub-install`)) {
		t.Error("the shim did not tell the package's output what it skipped")
	}
	if h := hashBytes(t, s.Disk, 2<<20); h != head {
		t.Errorf("the booted system's disk %s changed", s.Disk)
	}
	if h := hashTree(t, s.Root, "boot", "usr/lib/grub", "var/lib/dpkg"); h != booted {
		t.Error("the booted system's /boot, GRUB modules or dpkg database changed")
	}
	inImage(t, s.Root, func(dir string) {
		disk := cloneDisk(t, dir)
		if !hasGRUB(t, disk) {
			t.Errorf("the clone's disk %s has no GRUB after drd runcmd", disk)
		}
		if hashBytes(t, disk+"p1", 1<<20) == hashBytes(t, "/dev/zero", 1<<20) {
			t.Errorf("the clone's BIOS-boot partition %sp1 is still empty", disk)
		}
		if v := installed(dir, "drd-grub"); v != "1.0-1" {
			t.Errorf("drd-grub is %q in the clone, want 1.0-1 installed (configured)", v)
		}
		if _, err := os.Stat(filepath.Join(dir, bootenv.GrubCfgStale)); err != nil {
			t.Errorf("the clone's grub.cfg is not marked for regeneration: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "dev/disk")); err == nil {
			t.Error("a placeholder of the jail's /dev was left in the image")
		}
	})
}

// hasGRUB tells whether the boot sector of disk holds GRUB's boot.img.
func hasGRUB(t *testing.T, disk string) bool {
	t.Helper()
	f, err := os.Open(disk)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 512)
	if _, err := io.ReadFull(f, b); err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, []byte("GRUB"))
}

// wipe writes n zero bytes at off of dev.
func wipe(t *testing.T, dev string, off, n int64) {
	t.Helper()
	f, err := os.OpenFile(dev, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, n), off); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// hashBytes hashes the first n bytes of dev.
func hashBytes(t *testing.T, dev string, n int64) string {
	t.Helper()
	f, err := os.Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(h, f, n); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// cloneDisk is the disk of the clone mounted at dir.
func cloneDisk(t *testing.T, dir string) string {
	t.Helper()
	disk, err := diskUnder("/sys", inroot.Mounts(dir), "boot")
	if err != nil {
		t.Fatal(err)
	}
	return disk
}

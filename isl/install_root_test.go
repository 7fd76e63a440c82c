package isl_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/u-root/u-root/pkg/cpio"
	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/bootenv/efi"
	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/internal/testsys"
	"github.com/drd-linux/drd/isl"
)

// TestInstallOnLoop builds a small system (a fake kernel of the running
// kernel's version, a module index with two modules) and clones it to a
// loop device, then installs STAGEISL: a preview writes nothing; the
// install puts the kernel, the ISL, the modules and the manifest into
// both images' /boot/drd and the entry into both menus; Scan reports it;
// a second install replaces the copies.
func TestInstallOnLoop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: loop devices and mounts")
	}
	ctx := context.Background()
	r := report.Func(t.Logf)
	s, version := buildWithKernel(t)
	disk := testsys.LoopDisk(t, "target.img", 1<<30)
	if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: disk}, r); err != nil {
		t.Fatal(err)
	}
	islImage := filepath.Join(t.TempDir(), "drd-isl.img")
	os.WriteFile(islImage, []byte("ISL one"), 0o644)
	// UEFI variables in a directory: one entry there already, first.
	efiVars, err := efi.NewDirVars(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	grub, err := efi.LoadOption{Active: true, Description: "debian", Disk: efi.HardDrive{Number: 1, Start: 2048, Size: 1 << 20,
		PartGUID: "11111111-2222-4333-8444-555555555555"}, File: `\EFI\debian\grubx64.efi`}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := efiVars.Set("Boot0000", grub); err != nil {
		t.Fatal(err)
	}
	if err := efiVars.Set("BootOrder", efi.EncodeBootOrder([]uint16{0})); err != nil {
		t.Fatal(err)
	}
	m := bootenv.Real(s.Root)
	m.EFI = efiVars
	opt := isl.InstallOptions{Machine: m, Image: islImage, Preview: true}

	if err := isl.Install(ctx, opt, r); err != nil {
		t.Fatal(err)
	}
	st := scan(t, s.Root)
	if len(st.ISL) != 0 {
		t.Fatalf("a preview installed STAGEISL: %+v", st.ISL)
	}
	if _, err := os.Stat(filepath.Join(s.Root, "boot/drd")); err == nil {
		t.Fatal("a preview made /boot/drd")
	}
	mustNotContain(t, filepath.Join(s.Root, "boot/grub/drd.cfg"), bootenv.RecoveryTitle)
	if entries, _, _ := efi.BootEntries(efiVars); len(entries) != 1 {
		t.Fatalf("a preview wrote boot entries: %+v", entries)
	}
	// Without UEFI variables (--root, a BIOS machine): no ESP, and it says so.
	var said strings.Builder
	noEFI := isl.InstallOptions{Machine: bootenv.Real(s.Root), Image: islImage, Preview: true}
	if err := isl.Install(ctx, noEFI, report.Func(func(format string, args ...any) {
		fmt.Fprintf(&said, format+"\n", args...)
	})); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(said.String(), "STAGEISL not on the ESPs") || strings.Contains(said.String(), `would write \EFI\drd`) {
		t.Errorf("a preview without UEFI variables:\n%s", said.String())
	}

	opt.Preview = false
	if err := isl.Install(ctx, opt, r); err != nil {
		t.Fatal(err)
	}
	st = scan(t, s.Root)
	var on []string
	for _, o := range st.ISL {
		on = append(on, o.Image)
		if o.Kernel != version {
			t.Errorf("%s: STAGEISL for Linux %s, want %s", o.Image, o.Kernel, version)
		}
	}
	if !slices.Equal(on, []string{"sysimage_000", st.Images[1].Name}) { // the clone's name is any free one
		t.Fatalf("STAGEISL on %q, want both images", on)
	}
	first := checkBoots(t, ctx, s.Root, version, "ISL one")
	checkESPs(t, st, efiVars, "ISL one")

	os.WriteFile(islImage, []byte("ISL two, rebuilt"), 0o644)
	opt.Now = func() time.Time { return time.Now().Add(time.Hour) }
	if err := isl.Install(ctx, opt, r); err != nil {
		t.Fatal(err)
	}
	again := checkBoots(t, ctx, s.Root, version, "ISL two, rebuilt")
	checkESPs(t, st, efiVars, "ISL two, rebuilt")
	for i := range first {
		if !again[i].Installed.After(first[i].Installed) {
			t.Errorf("the second install did not replace the manifest: %v, then %v", first[i].Installed, again[i].Installed)
		}
	}

	// A /boot without room stops the install before any image changes.
	var sfs unix.Statfs_t
	if err := unix.Statfs(filepath.Join(s.Root, "boot"), &sfs); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(s.Root, "boot/filler")
	if out, err := exec.Command("fallocate", "-l", strconv.FormatInt(int64(sfs.Bavail)*sfs.Bsize-512<<10, 10), filler).CombinedOutput(); err != nil {
		t.Fatalf("fallocate: %v\n%s", err, out)
	}
	os.WriteFile(islImage, []byte("ISL three"), 0o644)
	if err := isl.Install(ctx, opt, r); err == nil || !strings.Contains(err.Error(), "not enough room") {
		t.Errorf("a full /boot: error %v, want not enough room", err)
	}
	os.Remove(filler)
	checkBoots(t, ctx, s.Root, version, "ISL two, rebuilt")

	opt.Image = filepath.Join(t.TempDir(), "none.img")
	if err := isl.Install(ctx, opt, r); err == nil || !strings.Contains(err.Error(), "make isl") {
		t.Errorf("no ISL image: error %v, want one naming make isl", err)
	}
}

// buildWithKernel builds a small system with a fake kernel of the running
// kernel's version (drd isl install copies /boot/vmlinuz-$(uname -r)) and
// a module index with two modules ext4 needs and one nothing needs.
func buildWithKernel(t *testing.T) (*testsys.System, string) {
	t.Helper()
	s := testsys.ForTest(t, testsys.Options{})
	rel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(string(rel))
	mods := "lib/modules/" + version + "/"
	bootUUID := testsys.UUID(t, s.Boot)
	for name, text := range map[string]string{
		"boot/vmlinuz-" + version:            "the running kernel",
		"boot/initrd.img-" + version:         "initrd",
		"boot/grub/grub.cfg":                 "### BEGIN /etc/grub.d/00_header ###\n### END /etc/grub.d/00_header ###\nmenuentry 'Debian' {\n\tsearch --fs-uuid --set=root " + bootUUID + "\n}\n",
		mods + "modules.dep":                 "kernel/fs/ext4/ext4.ko: kernel/fs/mbcache.ko\nkernel/fs/mbcache.ko:\nkernel/drivers/net/dummy.ko:\n",
		mods + "modules.alias":               "alias fs-ext2 ext4\n",
		mods + "kernel/fs/ext4/ext4.ko":      "ext4 module",
		mods + "kernel/fs/mbcache.ko":        "mbcache module",
		mods + "kernel/drivers/net/dummy.ko": "not needed",
	} {
		p := filepath.Join(s.Root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return s, version
}

// TestInstallBeforeClone installs STAGEISL on a system that was never
// cloned, then clones it: the clone's menu has the entry too.
func TestInstallBeforeClone(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: loop devices and mounts")
	}
	ctx := context.Background()
	r := report.Func(t.Logf)
	s, version := buildWithKernel(t)
	islImage := filepath.Join(t.TempDir(), "drd-isl.img")
	os.WriteFile(islImage, []byte("ISL"), 0o644)
	if err := isl.Install(ctx, isl.InstallOptions{Machine: bootenv.Real(s.Root), Image: islImage}, r); err != nil {
		t.Fatal(err)
	}
	if st := scan(t, s.Root); len(st.ISL) != 1 || st.ISL[0].Image != "sysimage_000" || st.ISL[0].Kernel != version {
		t.Fatalf("STAGEISL on %+v, want sysimage_000 only", st.ISL)
	}
	testsys.MustContain(t, filepath.Join(s.Root, "boot/grub/drd.cfg"), "menuentry '"+bootenv.RecoveryTitle+"'")
	if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: testsys.LoopDisk(t, "target.img", 1<<30)}, r); err != nil {
		t.Fatal(err)
	}
	st := scan(t, s.Root)
	if len(st.ISL) != 2 {
		t.Errorf("after the clone, STAGEISL on %+v, want both images", st.ISL)
	}
	cloneBoot := mountBoot(t, st, st.Images[1].Name)
	defer exec.Command("umount", cloneBoot).Run()
	testsys.MustContain(t, filepath.Join(cloneBoot, "grub/drd.cfg"), "menuentry '"+bootenv.RecoveryTitle+"'")
}

// checkBoots checks STAGEISL in the /boot of both images (the clone's
// mounted with drd mount) and returns their manifests.
func checkBoots(t *testing.T, ctx context.Context, root, version, islText string) []bootenv.Recovery {
	t.Helper()
	st := scan(t, root)
	cloneBoot := mountBoot(t, st, st.Images[1].Name) // the clone's name is any free one
	defer exec.Command("umount", cloneBoot).Run()
	var recs []bootenv.Recovery
	for _, boot := range []string{filepath.Join(root, "boot"), cloneBoot} {
		testsys.MustContain(t, filepath.Join(boot, "drd", bootenv.RecoveryKernel), "the running kernel")
		testsys.MustContain(t, filepath.Join(boot, "drd", bootenv.RecoveryISL), islText)
		testsys.MustContain(t, filepath.Join(boot, "grub/drd.cfg"), "menuentry '"+bootenv.RecoveryTitle+"' --id drd-isl --hotkey="+bootenv.RecoveryHotkey+" {")
		testsys.MustContain(t, filepath.Join(boot, "grub/drd.cfg"), "\t\tinitrd /drd/drd-isl.img /drd/modules.img\n")
		files := moduleImageFiles(t, filepath.Join(boot, "drd", bootenv.RecoveryModules))
		top := "lib/modules/" + version + "/"
		if files[top+"kernel/fs/ext4/ext4.ko"] != "ext4 module" || files[top+isl.LoadListName] != "kernel/fs/mbcache.ko\nkernel/fs/ext4/ext4.ko\n" {
			t.Errorf("%s/drd/modules.img holds %q", boot, files)
		}
		if _, ok := files[top+"kernel/drivers/net/dummy.ko"]; ok {
			t.Errorf("%s/drd/modules.img carries a module nothing needs", boot)
		}
		rec, err := os.ReadFile(filepath.Join(boot, "drd", bootenv.RecoveryManifest))
		if err != nil {
			t.Fatal(err)
		}
		st := scan(t, root)
		if len(st.ISL) != 2 {
			t.Fatalf("manifest %s, scan %+v", rec, st.ISL)
		}
		recs = append(recs, st.ISL[len(recs)].Recovery)
	}
	return recs
}

// checkESPs checks STAGEISL on both images' ESPs and their two firmware
// entries, after the one that was first, which stays first.
func checkESPs(t *testing.T, st *bootenv.Status, efiVars efi.Vars, islText string) {
	t.Helper()
	entries, order, err := efi.BootEntries(efiVars)
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 3 || order[0] != 0 || len(entries) != 3 {
		t.Fatalf("BootOrder %v, %d entries: want Boot0000 first and one STAGEISL entry per ESP", order, len(entries))
	}
	for _, img := range st.Images {
		var esp string
		for _, f := range img.FileSystems {
			if f.MountPoint == "/boot/efi" {
				esp = f.Device
			}
		}
		if got, err := images.ReadFATFile(esp, "EFI/drd/isl.img"); err != nil || string(got) != islText {
			t.Errorf("%s: ESP %s has %q (%v), want %q", img.Name, esp, got, err, islText)
		}
	}
	for _, n := range order[1:] {
		e := entries[n]
		if e.Description != bootenv.RecoveryTitle || e.File != `\EFI\drd\vmlinuz.efi` {
			t.Errorf("%s: %+v", efi.BootVar(n), e)
		}
		if want := `initrd=\EFI\drd\isl.img initrd=\EFI\drd\modules.img`; !strings.Contains(ucs2String(e.Optional), want) {
			t.Errorf("%s: load options %q, want %q", efi.BootVar(n), ucs2String(e.Optional), want)
		}
	}
}

// ucs2String decodes the load options of a boot entry (ASCII here).
func ucs2String(b []byte) string {
	var s []byte
	for i := 0; i+1 < len(b) && b[i] != 0; i += 2 {
		s = append(s, b[i])
	}
	return string(s)
}

// moduleImageFiles reads a modules.img: zstd, a newc cpio, padded to 4 bytes.
func moduleImageFiles(t *testing.T, p string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(data)%4 != 0 {
		t.Errorf("%s: %d bytes, not a multiple of 4", p, len(data))
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := dec.DecodeAll(bytes.TrimRight(data, "\x00"), nil)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	files := map[string]string{}
	for _, rec := range recs {
		if rec.Mode&cpio.S_IFMT == cpio.S_IFREG {
			b, _ := io.ReadAll(io.NewSectionReader(rec, 0, int64(rec.FileSize)))
			files[rec.Name] = string(b)
		}
	}
	return files
}

// mountBoot mounts the /boot file system of the image name read-only.
func mountBoot(t *testing.T, st *bootenv.Status, name string) string {
	t.Helper()
	for _, img := range st.Images {
		for _, f := range img.FileSystems {
			if img.Name == name && f.MountPoint == "/boot" {
				dir := t.TempDir()
				if out, err := exec.Command("mount", "-o", "ro", "UUID="+f.UUID, dir).CombinedOutput(); err != nil {
					t.Fatalf("mounting the /boot of %s: %v\n%s", name, err, out)
				}
				return dir
			}
		}
	}
	t.Fatalf("no /boot of %s", name)
	return ""
}

func scan(t *testing.T, root string) *bootenv.Status {
	t.Helper()
	st, err := bootenv.Scan(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func mustNotContain(t *testing.T, p, s string) {
	t.Helper()
	if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), s) {
		t.Errorf("%s contains %q", p, s)
	}
}

package clone

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/internal/testsys"
)

// withGRUB gives a test system GRUB for UEFI: a grub.cfg and this
// machine's x86_64-efi modules, marked with whose they are.
func withGRUB(t *testing.T, s *testsys.System, mark string) {
	t.Helper()
	lib := filepath.Join(s.Root, "usr/lib/grub/x86_64-efi")
	os.MkdirAll(filepath.Dir(lib), 0o755)
	if out, err := exec.Command("cp", "-a", "/usr/lib/grub/x86_64-efi", lib).CombinedOutput(); err != nil {
		t.Fatalf("copying GRUB's modules: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(lib, "drd-test-grub"), []byte(mark), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(s.Root, "boot/grub"), 0o755)
	if err := os.WriteFile(filepath.Join(s.Root, "boot/grub/grub.cfg"), []byte("menuentry test {\n  linux /vmlinuz\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The ESP is not in an artifact: it holds this host's (its firmware's
// loaders, vendor tools), and what the imported image needs there is
// made on import from the image's own GRUB. An import keeps the host's
// ESP files and puts on it a GRUB EFI image, made from the imported
// image's GRUB (not this host's, which may be older), that finds the new
// /boot by its UUID; the modules in the new /boot are the same GRUB's.
func TestImportESP(t *testing.T) {
	if _, err := exec.LookPath("grub-mkimage"); err != nil {
		t.Skip("no grub-mkimage (grub-common)")
	}
	if _, err := os.Stat("/usr/lib/grub/x86_64-efi"); err != nil {
		t.Skip("no /usr/lib/grub/x86_64-efi (grub-efi-amd64-bin)")
	}
	ctx := context.Background()
	a := hostSystem(t, "hosta")
	withGRUB(t, a, "hosta")
	if err := Run(ctx, Options{Root: a.Root, Target: filepath.Join(t.TempDir(), "a-clone.img")}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	// the canary's runcmd upgraded GRUB in the clone
	dir, err := bootenv.Mount(ctx, a.Root, "", report.Func(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	err = os.WriteFile(filepath.Join(dir, "usr/lib/grub/x86_64-efi/drd-test-grub"), []byte("canary"), 0o644)
	if uerr := bootenv.Umount(ctx, a.Root, "", report.Func(t.Logf)); err != nil || uerr != nil {
		t.Fatal(err, uerr)
	}
	var art bytes.Buffer
	if _, err := Export(ctx, ExportOptions{Root: a.Root, Output: &art}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}

	b := hostSystem(t, "hostb")
	withGRUB(t, b, "hostb")
	tool := filepath.Join(t.TempDir(), "tool.efi")
	os.WriteFile(tool, []byte("hostb's vendor tool"), 0o644)
	if err := b.PutESP(ctx, tool, "/EFI/vendor/tool.efi"); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "b-import.img")
	if err := Import(ctx, Options{Root: b.Root, Target: target}, ImportSource{Name: "-", R: &art}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	c := openClone(t, target)
	if got, err := images.ReadFATFile(c.esp, "/EFI/vendor/tool.efi"); err != nil || string(got) != "hostb's vendor tool" {
		t.Errorf("the new ESP: /EFI/vendor/tool.efi = %q, %v; want this host's", got, err)
	}
	bootUUID := testsys.UUID(t, c.devs["drd-"+c.name+"-boot"])
	for _, name := range []string{"/EFI/debian/grubx64.efi", "/EFI/BOOT/BOOTX64.EFI"} {
		got, err := images.ReadFATFile(c.esp, name)
		if err != nil || !bytes.HasPrefix(got, []byte("MZ")) || !bytes.Contains(got, []byte("search.fs_uuid "+bootUUID)) {
			t.Errorf("the new ESP: %s (%d bytes, %v) is not GRUB finding the new /boot %s", name, len(got), err, bootUUID)
		}
	}
	if got, err := os.ReadFile(filepath.Join(c.boot, "grub/x86_64-efi/drd-test-grub")); err != nil || string(got) != "canary" {
		t.Errorf("the new /boot/grub/x86_64-efi is %q's GRUB (%v), want the imported image's (canary)", got, err)
	}
}

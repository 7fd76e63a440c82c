package bootenv_test

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
)

// TestRecordBeneathVar: with /var a file system of its own (layout b),
// the record is written to and read from the root file system, where
// Scan reads an image that is not mounted, and not into the /var on top.
func TestRecordBeneathVar(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (mounts)")
	}
	root := t.TempDir()
	varDir := filepath.Join(root, "var")
	os.MkdirAll(varDir, 0o755)
	if err := unix.Mount("tmpfs", varDir, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	mounted := true
	defer func() {
		if mounted {
			unix.Unmount(varDir, unix.MNT_DETACH)
		}
	}()
	os.MkdirAll(filepath.Join(varDir, "opt/drd"), 0o755) // /var/opt/drd exists in the /var file system
	rec := &bootenv.Record{Name: "sysimage_001", ID: bootenv.NewID(), State: bootenv.Complete}
	if err := bootenv.WriteRecord(root, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, bootenv.RecordPath)); err == nil {
		t.Error("the record went into the /var file system mounted over the root's")
	}
	got, err := bootenv.ReadRecord(root)
	if err != nil || got.ID != rec.ID {
		t.Fatalf("ReadRecord with /var mounted: %+v, %v", got, err)
	}
	if err := unix.Unmount(varDir, 0); err != nil {
		t.Fatal(err)
	}
	mounted = false
	if got, err := bootenv.ReadRecord(root); err != nil || got.ID != rec.ID {
		t.Fatalf("the root file system alone holds no record: %+v, %v", got, err)
	}
	if ms, _ := filepath.Glob(filepath.Join(os.TempDir(), "drd-rootfs-*")); len(ms) > 0 {
		t.Errorf("left behind: %v", ms)
	}
}

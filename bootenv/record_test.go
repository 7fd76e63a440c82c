package bootenv

import (
	"os"
	"path/filepath"
	"testing"
)

// A never-cloned image shows one id, call after call (drd status --json
// used to give it a new one each time), derived from its machine-id.
func TestBootedRecordIsStableWithoutRecord(t *testing.T) {
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "etc/machine-id"), "0123456789abcdef0123456789abcdef\n", 0o644)
	a, err := BootedRecord(root)
	if err != nil {
		t.Fatal(err)
	}
	b, err := BootedRecord(root)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID || a.System != a.ID || !a.Created.Equal(b.Created) || a.Created.IsZero() {
		t.Fatalf("two calls: %s %v, %s %v; want one id and the machine-id's time", a.ID, a.Created, b.ID, b.Created)
	}
	if a.Name != "sysimage_000" || a.State != Booted {
		t.Errorf("fresh record %+v", a)
	}
	other := t.TempDir()
	mustWrite(t, filepath.Join(other, "etc/machine-id"), "fedcba9876543210fedcba9876543210\n", 0o644)
	c, err := BootedRecord(other)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == a.ID {
		t.Errorf("two machines, one id %s", a.ID)
	}
}

// A machine-id that is a link out of the image is not read from the host.
func TestBootedRecordMachineIDLinkOut(t *testing.T) {
	host := t.TempDir()
	mustWrite(t, filepath.Join(host, "machine-id"), "0123456789abcdef0123456789abcdef\n", 0o644)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(host, "machine-id"), filepath.Join(root, "etc/machine-id")); err != nil {
		t.Fatal(err)
	}
	in := t.TempDir()
	mustWrite(t, filepath.Join(in, "etc/machine-id"), "0123456789abcdef0123456789abcdef\n", 0o644)
	a, _ := BootedRecord(root)
	b, _ := BootedRecord(in)
	if a.ID == b.ID {
		t.Errorf("the link out of the image was followed: id %s", a.ID)
	}
}

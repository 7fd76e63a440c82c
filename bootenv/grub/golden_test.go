package grub

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to make it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", p, got)
	}
}

// TestGoldenMenusReadByGRUBTools checks the golden menus with GRUB's own
// tool, not only against what -update wrote: grub-script-check takes
// every one.
func TestGoldenMenusReadByGRUBTools(t *testing.T) {
	if _, err := exec.LookPath("grub-script-check"); err != nil {
		t.Skip("grub-script-check not installed (grub2-common)")
	}
	cfgs, err := filepath.Glob("testdata/grub/*.cfg*")
	if err != nil || len(cfgs) < 3 {
		t.Fatalf("golden menus %q: %v", cfgs, err)
	}
	for _, p := range cfgs {
		if out, err := exec.Command("grub-script-check", p).CombinedOutput(); err != nil {
			t.Errorf("grub-script-check %s: %v\n%s", p, err, out)
		}
	}
}

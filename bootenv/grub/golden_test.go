package grub

import (
	"os/exec"
	"path/filepath"
	"testing"
)

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

package bootenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/drd-linux/drd/bootenv/grub"
)

// TestGoldenFilesReadByGRUBTools checks the golden files of the GRUB
// environment blocks and of drd's menu with GRUB's own tools, not only
// against what -update wrote: grub-editenv lists the variables written
// here by hand, and grub-script-check takes every menu.
func TestGoldenFilesReadByGRUBTools(t *testing.T) {
	for _, tool := range []string{"grub-editenv", "grub-script-check"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (grub2-common)", tool)
		}
	}
	for file, want := range map[string]string{
		"grubenv/next.env":  "drd_seq=1\ndrd_next=sysimage_000\ndrd_trial=\ndrd_tries=0\n",
		"grubenv/trial.env": "drd_seq=7\ndrd_next=sysimage_000\ndrd_trial=sysimage_001\ndrd_tries=2\n",
	} {
		p := filepath.Join("testdata", file)
		if fi, err := os.Stat(p); err != nil || fi.Size() != grub.EnvSize {
			t.Errorf("%s: %v, want a block of %d bytes", p, err, grub.EnvSize)
		}
		out, err := exec.Command("grub-editenv", p, "list").CombinedOutput()
		if err != nil || string(out) != want {
			t.Errorf("grub-editenv %s list: %v\n%s\nwant:\n%s", p, err, out, want)
		}
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

package bootenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/drd-linux/drd/bootenv/grub"
)

// TestGoldenFilesReadByGRUBTools checks the golden files of drd's GRUB
// environment blocks with GRUB's own tool, not only against what -update
// wrote: grub-editenv lists the variables written here by hand. (The
// menus are checked in bootenv/grub.)
func TestGoldenFilesReadByGRUBTools(t *testing.T) {
	if _, err := exec.LookPath("grub-editenv"); err != nil {
		t.Skip("grub-editenv not installed (grub2-common)")
	}
	for file, want := range map[string]string{
		"grubenv/next.env":             "drd_seq=1\ndrd_next=sysimage_000\ndrd_trial=\ndrd_tries=0\n",
		"grubenv/trial.env":            "drd_seq=7\ndrd_next=sysimage_000\ndrd_trial=sysimage_001\ndrd_tries=2\ndrd_watchdog=300\n",
		"grubenv/trial-nowatchdog.env": "drd_seq=8\ndrd_next=sysimage_000\ndrd_trial=sysimage_001\ndrd_tries=1\ndrd_watchdog=0\n",
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
}

package bootenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv/grub"
	"github.com/drd-linux/drd/internal/inroot"
)

// TestWriteBootConfigLinks: an image's /boot/grub, or its drd.cfg,
// grub.cfg or drdenv, made a link by a package of the image to files of
// the booted system (absolute, or climbing with ..): drd's menu, hook
// and block are written inside the image, never into those files.
func TestWriteBootConfigLinks(t *testing.T) {
	hostFiles := func(t *testing.T) (dir string, want map[string]string) {
		dir = t.TempDir()
		want = map[string]string{
			"grub.cfg": "menuentry 'the booted system' {\n}\n",
			"drdenv":   strings.Repeat("#", grub.EnvSize), // the size of a block: written in place if opened
			"drd.cfg":  "the booted system's own\n",
		}
		for n, data := range want {
			mustWrite(t, filepath.Join(dir, n), data, 0o644)
		}
		return dir, want
	}
	unchanged := func(t *testing.T, dir string, want map[string]string) {
		t.Helper()
		for n, data := range want {
			if got, err := os.ReadFile(filepath.Join(dir, n)); err != nil || string(got) != data {
				t.Errorf("the booted system's %s changed (%v):\n%.200s", n, err, got)
			}
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != len(want) {
			t.Errorf("files appeared in the booted system's %s: %v", dir, ents)
		}
	}
	write := func(t *testing.T, m Machine) {
		b := bootedImage("sysimage_001", Booted)
		next := BootState{Seq: 3, Next: "sysimage_001"}
		var out said
		if err := m.WriteBootConfig(&Status{Booted: b, Images: []*Image{b}}, &next, nil, out.reporter()); err != nil {
			t.Logf("WriteBootConfig: %v\n%s", err, &out)
		}
	}
	for _, link := range []string{"absolute", "relative"} {
		t.Run("grub-dir-"+link, func(t *testing.T) {
			m, _ := unitMachine(t, nil, nil)
			host, want := hostFiles(t)
			grubDir := filepath.Join(m.Root, "boot/grub")
			os.RemoveAll(grubDir)
			target := host
			if link == "relative" {
				target = strings.Repeat("../", 40) + strings.TrimPrefix(host, "/")
			}
			if err := os.Symlink(target, grubDir); err != nil {
				t.Fatal(err)
			}
			write(t, m)
			unchanged(t, host, want)
		})
	}
	t.Run("file-links", func(t *testing.T) {
		m, _ := unitMachine(t, nil, nil)
		host, want := hostFiles(t)
		for n := range want {
			if err := os.Symlink(filepath.Join(host, n), filepath.Join(m.Root, "boot/grub", n)); err != nil {
				t.Fatal(err)
			}
		}
		write(t, m)
		unchanged(t, host, want)
		for _, n := range []string{"drd.cfg", "drdenv"} {
			if fi, err := os.Lstat(filepath.Join(m.Root, "boot/grub", n)); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("the image's %s is not a file drd wrote: %v %v", n, fi, err)
			}
		}
		if s, err := readBlockIn(inroot.Mounts(m.Root), "boot/grub/drdenv"); err != nil || s.Seq != 3 {
			t.Errorf("the image's block: %+v %v", s, err)
		}
	})
}

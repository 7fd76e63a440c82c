package bootenv_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/internal/testsys"
)

// TestWithImage: the booted image is read where it runs; an inactive
// one is mounted read-only for the call (nothing can be written), or
// read-write when asked, and left unmounted and detached as it was.
func TestWithImage(t *testing.T) {
	s := testsys.ForTest(t, testsys.Options{})
	ctx := context.Background()
	target := filepath.Join(t.TempDir(), "clone.img")
	if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: target}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	releaseImageFile(t, s.Root, target)
	st, err := bootenv.Scan(ctx, s.Root)
	if err != nil || len(st.Images) != 2 {
		t.Fatalf("Scan: %v", err)
	}
	name := st.Images[1].Name
	err = bootenv.WithImage(ctx, s.Root, "", false, report.Func(t.Logf), func(dir string, img *bootenv.Image) error {
		if dir != s.Root || !img.Booted {
			t.Errorf("booted image at %s (booted %v), want %s", dir, img.Booted, s.Root)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, writable := range []bool{false, true} {
		var seen string
		err := bootenv.WithImage(ctx, s.Root, name, writable, report.Func(t.Logf), func(dir string, img *bootenv.Image) error {
			seen = dir
			if img.Name != name {
				t.Errorf("image %s, want %s", img.Name, name)
			}
			if _, err := os.Stat(filepath.Join(dir, "etc/fstab")); err != nil {
				t.Errorf("the image's root is not at %s: %v", dir, err)
			}
			for _, p := range []string{"etc/written", "boot/written"} {
				err := os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644)
				switch {
				case writable && err != nil:
					t.Errorf("writable: %v", err)
				case !writable && !errors.Is(err, unix.EROFS):
					t.Errorf("read-only: writing %s: %v, want EROFS", p, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if ents, _ := os.ReadDir(seen); len(ents) != 0 {
			t.Errorf("writable %v: %s still shows %d entries: still mounted", writable, seen, len(ents))
		}
		if loops, _ := images.LoopsOf("/sys", target); len(loops) != 0 {
			t.Errorf("writable %v: %s left attached at %s", writable, target, loops)
		}
	}
	// An image mounted by drd mount is read where it is, and stays mounted.
	dir, err := bootenv.Mount(ctx, s.Root, name, report.Func(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	err = bootenv.WithImage(ctx, s.Root, name, false, report.Func(t.Logf), func(d string, _ *bootenv.Image) error {
		if _, err := os.Stat(filepath.Join(d, "etc/written")); d != dir || err != nil {
			t.Errorf("mounted image at %s (%v), want %s with the file written", d, err, dir)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "etc/fstab")); err != nil {
		t.Errorf("WithImage unmounted an image drd mount had mounted: %v", err)
	}
}

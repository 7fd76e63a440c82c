package bootenv_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/internal/testsys"
)

// TestFailedMountDetachesItsLoop makes drd mount of a clone in an image
// file fail after it attached the file (a /boot whose file system the
// kernel refuses, a mount directory that is a file): the mount reports
// the failure and no loop device stays attached to the file.
func TestFailedMountDetachesItsLoop(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, root, target string, img *bootenv.Image)
		want  string
	}{
		{"bad /boot file system", func(t *testing.T, root, target string, img *bootenv.Image) {
			testsys.SpoilExt(t, target, fsAt(t, img, "/boot").UUID)
		}, "check it (fsck)"},
		{"mount directory is a file", func(t *testing.T, root, target string, img *bootenv.Image) {
			dir := bootenv.MountDir(root, img.Name)
			os.MkdirAll(filepath.Dir(dir), 0o755)
			if err := os.WriteFile(dir, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Remove(dir) })
		}, "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testsys.ForTest(t, testsys.Options{})
			ctx := context.Background()
			target := filepath.Join(t.TempDir(), "clone.img")
			if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: target}, report.Func(t.Logf)); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { detachLoopsOf(t, ctx, s.Root, target) })
			st, err := bootenv.Scan(ctx, s.Root)
			if err != nil {
				t.Fatal(err)
			}
			var img *bootenv.Image
			for _, i := range st.Images {
				if i.ImageFile == target {
					img = i
				}
			}
			if img == nil {
				t.Fatalf("Scan found no image in %s: %+v", target, st.Images)
			}
			tc.spoil(t, s.Root, target, img)

			_, err = bootenv.Mount(ctx, s.Root, img.Name, report.Func(t.Logf))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Mount: %v, want an error saying %q", err, tc.want)
			}
			t.Logf("Mount: %v", err)
			if loops := testsys.LosetupOf(t, target); loops != "" {
				t.Errorf("a failed Mount left its loop device attached to %s:\n%s", target, loops)
			}
		})
	}
}

// fsAt returns the file system of img mounted at mp.
func fsAt(t *testing.T, img *bootenv.Image, mp string) bootenv.FileSystem {
	t.Helper()
	for _, f := range img.FileSystems {
		if f.MountPoint == mp {
			return f
		}
	}
	t.Fatalf("%s has no %s: %+v", img.Name, mp, img.FileSystems)
	return bootenv.FileSystem{}
}

// detachLoopsOf unmounts what the test mounted of root and detaches every
// loop device attached to file, an image file the test made.
func detachLoopsOf(t *testing.T, ctx context.Context, root, file string) {
	bootenv.Umount(ctx, root, "", report.Discard)
	loops, _ := images.LoopsOf("/sys", file)
	for _, l := range loops {
		if err := images.DetachLoop(l); err != nil {
			t.Logf("cleanup: %v", err)
		}
	}
}

// TestScanOfUnreadableImageFileDetaches: the scan (drd status, activate,
// mount, runcmd) attaches a registered image file read-only while it
// looks; when the clone's / there does not mount (a file system the
// kernel refuses), the scan still detaches the loop devices it attached.
func TestScanOfUnreadableImageFileDetaches(t *testing.T) {
	s := testsys.ForTest(t, testsys.Options{})
	ctx := context.Background()
	target := filepath.Join(t.TempDir(), "clone.img")
	t.Cleanup(func() { detachLoopsOf(t, ctx, s.Root, target) })
	if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: target}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	st, err := bootenv.Scan(ctx, s.Root)
	if err != nil {
		t.Fatal(err)
	}
	var root string
	for _, img := range st.Images {
		if img.ImageFile == target {
			root = fsAt(t, img, "/").UUID
		}
	}
	if root == "" {
		t.Fatalf("Scan found no image in %s: %+v", target, st.Images)
	}
	testsys.SpoilExt(t, target, root)
	st, err = bootenv.Scan(ctx, s.Root)
	t.Logf("Scan of an image file whose / does not mount: %v", err)
	if err == nil {
		for _, p := range st.Problems {
			t.Logf("problem: %+v", p)
		}
	}
	if loops := testsys.LosetupOf(t, target); loops != "" {
		t.Errorf("Scan left its loop device attached to %s:\n%s", target, loops)
	}
}

// TestMountUsesItsLeftoverLoop: an image file still attached at a loop
// device drd attached (a drd umount that could not detach it) is mounted
// through that device, not attached a second time, and drd umount then
// leaves no loop device attached to the file.
func TestMountUsesItsLeftoverLoop(t *testing.T) {
	s := testsys.ForTest(t, testsys.Options{})
	ctx := context.Background()
	target := filepath.Join(t.TempDir(), "clone.img")
	t.Cleanup(func() { detachLoopsOf(t, ctx, s.Root, target) })
	if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: target}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	parts, err := images.ReadGPT(target)
	if err != nil {
		t.Fatal(err)
	}
	left, err := images.AttachLoop(target, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := images.ShowPartitions(left, parts); err != nil {
		t.Fatal(err)
	}
	st, err := bootenv.Scan(ctx, s.Root)
	if err != nil {
		t.Fatal(err)
	}
	var name string
	for _, img := range st.Images {
		if img.ImageFile == target {
			name = img.Name
		}
	}
	if name == "" {
		t.Fatalf("Scan found no image in %s: %+v", target, st.Images)
	}
	if _, err := bootenv.Mount(ctx, s.Root, name, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	if loops, _ := images.LoopsOf("/sys", target); len(loops) != 1 || loops[0] != left {
		t.Errorf("Mount with %s attached at %s (by drd) already: the file is attached at %v, want only %s", target, left, loops, left)
	}
	if err := bootenv.Umount(ctx, s.Root, name, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	if loops := testsys.LosetupOf(t, target); loops != "" {
		t.Errorf("Umount left loop devices attached to %s:\n%s", target, loops)
	}
}

package bootenv_test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"os"
	"os/exec"
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
			spoilExt(t, target, fsAt(t, img, "/boot").UUID)
		}, "mounting /boot of"},
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
			if loops := losetupOf(t, target); loops != "" {
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

// spoilExt sets an incompatible feature no kernel knows in the superblock
// of the ext file system with uuid in image file target: the probe still
// finds it, the kernel refuses to mount it.
func spoilExt(t *testing.T, target, uuid string) {
	t.Helper()
	parts, err := images.ReadGPT(target)
	if err != nil {
		t.Fatal(err)
	}
	want, err := hex.DecodeString(strings.ReplaceAll(uuid, "-", ""))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(target, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range parts {
		sb := make([]byte, 1024)
		if _, err := f.ReadAt(sb, p.Start+1024); err != nil {
			t.Fatal(err)
		}
		if string(sb[0x68:0x78]) != string(want) {
			continue
		}
		incompat := binary.LittleEndian.Uint32(sb[0x60:]) | 0x80000000
		binary.LittleEndian.PutUint32(sb[0x60:], incompat)
		if _, err := f.WriteAt(sb[0x60:0x64], p.Start+1024+0x60); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no partition of %s holds the file system %s", target, uuid)
}

// losetupOf is what losetup lists attached to file (empty: nothing).
func losetupOf(t *testing.T, file string) string {
	t.Helper()
	out, err := exec.Command("losetup", "-j", file).CombinedOutput()
	if err != nil {
		t.Fatalf("losetup -j %s: %v\n%s", file, err, out)
	}
	return strings.TrimSpace(string(out))
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

package bootenv_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/internal/testsys"
)

func TestMountUmountImageFile(t *testing.T) {
	s := testsys.ForTest(t, testsys.Options{})
	ctx := context.Background()
	os.WriteFile(filepath.Join(s.Root, "etc/motd"), []byte("patched later\n"), 0o644)
	target := filepath.Join(t.TempDir(), "clone.img")
	if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: target}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	releaseImageFile(t, s.Root, target)

	st, err := bootenv.Scan(ctx, s.Root)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Images) != 2 || st.Images[1].ImageFile != target {
		t.Fatalf("Scan found %d images: %+v", len(st.Images), st.Images)
	}
	name := st.Images[1].Name // any free name: other tests' clones may hold sysimage_001
	// The scan attached the file only while it looked: no disk, no devices
	// (the loop numbers of clone time are someone else's now).
	if cl := st.Images[1]; cl.Disk != "" || slices.ContainsFunc(cl.FileSystems, func(f bootenv.FileSystem) bool { return f.Device != "" }) {
		t.Errorf("a clone in an image file that is not attached: disk %q, file systems %+v; want no devices", cl.Disk, cl.FileSystems)
	}
	if loops, _ := images.LoopsOf("/sys", target); len(loops) != 0 {
		t.Errorf("Scan left %s attached", loops)
	}

	// By its name: without one, drd takes the only inactive image only
	// while no drd-named device on the machine is unreadable, and another
	// test may have made one.
	dir, err := bootenv.Mount(ctx, s.Root, name, report.Func(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	// No firmware boots a file: activate refuses, in preview too, also
	// while the image is mounted (its file attached).
	for _, preview := range []bool{true, false} {
		err := bootenv.Real(s.Root).Activate(ctx, bootenv.ActivateOptions{Image: name, Preview: preview}, report.Discard)
		if !errors.Is(err, bootenv.ErrNotActivatable) || !strings.Contains(err.Error(), "write the file to a disk") {
			t.Errorf("Activate (preview %v) of a clone in an image file: %v, want a refusal saying how to make it bootable", preview, err)
		}
	}
	if want := filepath.Join(s.Root, "var/opt/drd/mnts", name); dir != want {
		t.Errorf("Mount dir = %s, want %s", dir, want)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "etc/motd")); err != nil || string(data) != "patched later\n" {
		t.Errorf("clone's /etc/motd = %q, %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "boot/lost+found")); err != nil {
		t.Errorf("the clone's /boot is not mounted: %v", err)
	}
	// Attached now: the devices are where drd mount attached it.
	if st, err := bootenv.Scan(ctx, s.Root); err != nil || len(st.Images) != 2 {
		t.Errorf("Scan while mounted: %v", err)
	} else if cl := st.Images[1]; cl.Disk == "" || !strings.HasPrefix(cl.FileSystems[0].Device, cl.Disk) {
		t.Errorf("a mounted clone in an image file: disk %q, file systems %+v; want the devices of its loop", cl.Disk, cl.FileSystems)
	}
	// Mounting again is harmless.
	if again, err := bootenv.Mount(ctx, s.Root, name, report.Discard); err != nil || again != dir {
		t.Errorf("second Mount = %s, %v", again, err)
	}

	busy := exec.Command("sleep", "60")
	busy.Dir = filepath.Join(dir, "boot")
	if err := busy.Start(); err != nil {
		t.Fatal(err)
	}
	err = bootenv.Umount(ctx, s.Root, "", report.Discard)
	busy.Process.Kill()
	busy.Wait()
	if want := fmt.Sprintf("pid %d (sleep) cwd", busy.Process.Pid); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Umount of a busy image: %v, want an error naming %q", err, want)
	}
	if err := bootenv.Umount(ctx, s.Root, "", report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	if loops, _ := images.LoopsOf("/sys", target); len(loops) != 0 {
		t.Errorf("Umount left %s attached", loops)
	}
	if _, err := bootenv.Mount(ctx, s.Root, "sysimage_007", report.Discard); err == nil || !strings.Contains(err.Error(), "no image sysimage_007") {
		t.Errorf("Mount of a missing image: %v", err)
	}
}

// TestSecondCloneGetsItsOwnName clones to two image files: the second
// clone gets a name, labels and partition names of its own; each is
// reached by name, and without a name the error lists both. A clone again
// to the first file keeps its name. (Other tests' clones on this machine
// may hold names too, or free them between the clones, as any image drd
// can find does: the test reads the names back and counts on no
// particular number nor order.)
func TestSecondCloneGetsItsOwnName(t *testing.T) {
	s := testsys.ForTest(t, testsys.Options{})
	ctx := context.Background()
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.img"), filepath.Join(dir, "second.img")
	var mounted []string
	t.Cleanup(func() {
		for _, n := range mounted {
			bootenv.Umount(ctx, s.Root, n, report.Discard)
		}
	})
	nameIn := func(file string) string {
		t.Helper()
		st, err := bootenv.Scan(ctx, s.Root)
		if err != nil {
			t.Fatal(err)
		}
		for _, img := range st.Images {
			if img.ImageFile == file {
				return img.Name
			}
		}
		t.Fatalf("no image in %s", file)
		return ""
	}
	var names []string
	for _, target := range []string{first, second, first} {
		if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: target, Overwrite: true}, report.Func(t.Logf)); err != nil {
			t.Fatal(err)
		}
		names = append(names, nameIn(target))
	}
	if names[0] == names[1] || names[2] != names[0] || names[0] == "sysimage_000" || names[1] == "sysimage_000" {
		t.Fatalf("clones to %s, %s, %s again are named %q: want two names, not the booted one's, and the first again", first, second, first, names)
	}
	st, err := bootenv.Scan(ctx, s.Root)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Images) != 3 {
		t.Fatalf("%d images, want 3", len(st.Images))
	}
	for _, img := range st.Images[1:] {
		num := strings.TrimPrefix(img.Name, "sysimage_")
		for _, f := range img.FileSystems {
			if !strings.HasPrefix(strings.ToLower(f.Label), "drd"+num+"-") {
				t.Errorf("%s: %s has label %q, want drd%s-...", img.Name, f.MountPoint, f.Label, num)
			}
		}
		parts, err := images.ReadGPT(img.ImageFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			if !strings.HasPrefix(p.Name, "drd-"+img.Name+"-") {
				t.Errorf("%s: partition %d is named %q", img.Name, p.Number, p.Name)
			}
		}
	}
	_, err = bootenv.Mount(ctx, s.Root, "", report.Discard)
	for i, file := range []string{first, second} {
		if want := names[i] + " (on " + file + ")"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Mount without a name: %v, want the names to choose from, %s among them", err, want)
		}
	}
	for _, n := range names[:2] {
		dir, err := bootenv.Mount(ctx, s.Root, n, report.Func(t.Logf))
		if err != nil {
			t.Fatal(err)
		}
		mounted = append(mounted, n)
		rec, err := bootenv.ReadRecord(dir)
		if err != nil || rec.Name != n {
			t.Errorf("mounted %s at %s: its record %+v, %v", n, dir, rec, err)
		}
	}
	for _, n := range mounted {
		if err := bootenv.Umount(ctx, s.Root, n, report.Func(t.Logf)); err != nil {
			t.Error(err)
		}
	}
	mounted = nil
}

// TestScanImageFileAttachedTwice: an image file attached to two loop
// devices (a loop left behind, and drd mount's) shows its image once.
func TestScanImageFileAttachedTwice(t *testing.T) {
	s := testsys.ForTest(t, testsys.Options{})
	ctx := context.Background()
	target := filepath.Join(t.TempDir(), "clone.img")
	if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: target}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	parts, err := images.ReadGPT(target)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		dev, err := images.AttachLoop(target, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { images.DetachLoop(dev) })
		if err := images.ShowPartitions(dev, parts); err != nil {
			t.Fatal(err)
		}
	}
	st, err := bootenv.Scan(ctx, s.Root)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Images) != 2 {
		for _, img := range st.Images {
			t.Logf("%s on %s", img.Name, img.Disk)
		}
		t.Errorf("Scan lists %d images, want the booted one and the clone once", len(st.Images))
	}
}

package bootenv_test

import (
	"context"
	"errors"
	"fmt"
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

func TestMountUmountImageFile(t *testing.T) {
	s := testsys.ForTest(t, testsys.Options{})
	ctx := context.Background()
	os.WriteFile(filepath.Join(s.Root, "etc/motd"), []byte("patched later\n"), 0o644)
	target := filepath.Join(t.TempDir(), "clone.img")
	if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: target}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		bootenv.Umount(ctx, s.Root, "", report.Discard)
		loops, _ := images.LoopsOf("/sys", target)
		for _, l := range loops {
			images.DetachLoop(l)
		}
	})

	st, err := bootenv.Scan(ctx, s.Root)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Images) != 2 || st.Images[1].Name != "sysimage_001" || st.Images[1].ImageFile != target {
		t.Fatalf("Scan found %d images: %+v", len(st.Images), st.Images)
	}
	if loops, _ := images.LoopsOf("/sys", target); len(loops) != 0 {
		t.Errorf("Scan left %s attached", loops)
	}

	dir, err := bootenv.Mount(ctx, s.Root, "", report.Func(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	// No firmware boots a file: activate refuses, in preview too, also
	// while the image is mounted (its file attached).
	for _, preview := range []bool{true, false} {
		err := bootenv.Activate(ctx, s.Root, bootenv.ActivateOptions{Preview: preview}, report.Discard)
		if !errors.Is(err, bootenv.ErrNotActivatable) || !strings.Contains(err.Error(), "write the file to a disk") {
			t.Errorf("Activate (preview %v) of a clone in an image file: %v, want a refusal saying how to make it bootable", preview, err)
		}
	}
	if want := filepath.Join(s.Root, "var/opt/drd/mnts/sysimage_001"); dir != want {
		t.Errorf("Mount dir = %s, want %s", dir, want)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "etc/motd")); err != nil || string(data) != "patched later\n" {
		t.Errorf("clone's /etc/motd = %q, %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "boot/lost+found")); err != nil {
		t.Errorf("the clone's /boot is not mounted: %v", err)
	}
	// Mounting again is harmless.
	if again, err := bootenv.Mount(ctx, s.Root, "sysimage_001", report.Discard); err != nil || again != dir {
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

package bootenv_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/internal/testsys"
)

// What drd activate -x reboot=soft does before systemctl soft-reboot,
// on loops: the clone's critical file systems at /run/nextroot (its /boot
// inside), the trial marker in /run; a second preparation is refused
// (the directory is in use); undo unmounts all and removes the marker.
func TestPrepareNextRoot(t *testing.T) {
	s := testsys.ForTest(t, testsys.Options{})
	ctx := context.Background()
	os.WriteFile(filepath.Join(s.Root, "etc/motd"), []byte("the clone's\n"), 0o644)
	target := filepath.Join(t.TempDir(), "clone.img")
	if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: target}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	releaseImageFile(t, s.Root, target)
	m := bootenv.Real(s.Root)
	next := filepath.Join(s.Root, bootenv.NextRootDir)
	t.Cleanup(func() { exec.Command("umount", "-R", next).Run() })

	undo, err := m.PrepareNextRoot(ctx, "", true, report.Func(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(next, "etc/motd")); err != nil || string(b) != "the clone's\n" {
		t.Errorf("/run/nextroot/etc/motd = %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(next, "boot/lost+found")); err != nil {
		t.Errorf("the clone's /boot is not mounted in /run/nextroot: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(s.Root, bootenv.SoftTrialPath))
	if err != nil || bootenv.TrialFromMarker(string(b)) == "" {
		t.Errorf("trial marker %q, %v", b, err)
	}
	if _, err := m.PrepareNextRoot(ctx, "", false, report.Discard); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("a second preparation: %v, want refused: in use", err)
	}
	undo()
	mounts, err := bootenv.ReadMountinfo("/proc")
	if err != nil {
		t.Fatal(err)
	}
	if under := bootenv.MountsUnder(mounts, next); len(under) != 0 {
		t.Errorf("after undo, still mounted under /run/nextroot: %+v", under)
	}
	if _, err := os.Stat(filepath.Join(s.Root, bootenv.SoftTrialPath)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after undo the trial marker stays: %v", err)
	}

	// A trial marker that cannot be written (its directory is a file)
	// fails the preparation, and nothing stays mounted.
	markerDir := filepath.Dir(filepath.Join(s.Root, bootenv.SoftTrialPath))
	os.RemoveAll(markerDir)
	if err := os.WriteFile(markerDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.PrepareNextRoot(ctx, "", true, report.Discard); err == nil || !strings.Contains(err.Error(), "marking the soft-reboot trial") {
		t.Errorf("a trial marker that cannot be written: %v, want the preparation refused", err)
	}
	if mounts, err = bootenv.ReadMountinfo("/proc"); err != nil {
		t.Fatal(err)
	}
	if under := bootenv.MountsUnder(mounts, next); len(under) != 0 {
		t.Errorf("after a failed marker, still mounted under /run/nextroot: %+v", under)
	}
}

package runcmd

import (
	"context"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/testsys"
)

// TestRuncmdFailedMountDetachesItsLoop: drd runcmd on a clone in an image
// file whose /boot the kernel refuses to mount fails at the mount, and
// leaves no loop device attached to the file (the mount attached it).
func TestRuncmdFailedMountDetachesItsLoop(t *testing.T) {
	ctx := context.Background()
	s := clonedMinbase(t, ctx)
	st, err := bootenv.Scan(ctx, s.Root)
	if err != nil {
		t.Fatal(err)
	}
	var img *bootenv.Image
	for _, i := range st.Images {
		if i.ImageFile != "" {
			img = i
		}
	}
	if img == nil {
		t.Fatalf("Scan found no clone in an image file: %+v", st.Images)
	}
	for _, f := range img.FileSystems {
		if f.MountPoint == "/boot" {
			testsys.SpoilExt(t, img.ImageFile, f.UUID)
		}
	}
	r := &recorder{t: t}
	err = Run(ctx, Options{Root: s.Root, Image: img.Name, Argv: []string{"dpkg", "-l"}, User: "tester"}, r)
	if err == nil || !strings.Contains(err.Error(), "mounting /boot of") {
		t.Fatalf("Run on an image whose /boot does not mount: %v, want the mount's error", err)
	}
	t.Logf("Run: %v", err)
	if loops := testsys.LosetupOf(t, img.ImageFile); loops != "" {
		t.Errorf("a runcmd whose mount failed left its loop device attached to %s:\n%s", img.ImageFile, loops)
	}
}

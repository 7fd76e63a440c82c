package bootenv_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/report"
)

// loopDisk is a disk for a clone: a sparse file of size bytes named name
// in a temporary directory, attached as a loop device. At cleanup its
// partitions are hidden and the loop detached.
func loopDisk(t *testing.T, name string, size int64) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(file, size); err != nil {
		t.Fatal(err)
	}
	disk, err := images.AttachLoop(file, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		images.HidePartitions(disk)
		images.DetachLoop(disk)
	})
	return disk
}

// releaseImageFile unmounts, at cleanup, what the test mounted of the
// images of root and detaches the loops of the image file target.
func releaseImageFile(t *testing.T, root, target string) {
	t.Cleanup(func() {
		bootenv.Umount(context.Background(), root, "", report.Discard)
		loops, _ := images.LoopsOf("/sys", target)
		for _, l := range loops {
			images.DetachLoop(l)
		}
	})
}

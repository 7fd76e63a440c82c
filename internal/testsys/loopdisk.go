package testsys

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/drd-linux/drd/images"
)

// LoopDisk is a disk for a clone in a test: a sparse file of size bytes
// named name in a temporary directory, attached as a loop device. At
// cleanup its partitions are hidden and the loop detached.
func LoopDisk(t testing.TB, name string, size int64) string {
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

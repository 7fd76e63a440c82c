package runcmd

import (
	"context"
	"os"
	"sync"
	"testing"

	mb "github.com/drd-linux/drd/internal/minbase"
)

// The debootstrap'd system the root tests run commands in:
// internal/minbase's, cached under /var/tmp/drd-cache, unpacked once
// per test run.
var (
	minbaseOnce sync.Once
	minbaseDir  string
	minbaseErr  error
)

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: namespaces, mounts, loop devices")
	}
}

// untar unpacks the minbase system into dir.
func untar(ctx context.Context, dir string) error {
	return mb.Default.Unpack(ctx, dir)
}

// minbase returns a directory holding the minbase system, shared by the
// tests of one run: they must not change it, except below /tmp-free
// paths of their own.
func minbase(t testing.TB) string {
	t.Helper()
	requireRoot(t)
	minbaseOnce.Do(func() {
		minbaseDir, minbaseErr = os.MkdirTemp("/var/tmp", "drd-minbase-")
		if minbaseErr == nil {
			minbaseErr = untar(context.Background(), minbaseDir)
		}
	})
	if minbaseErr != nil {
		t.Fatal(minbaseErr)
	}
	return minbaseDir
}

func cleanupMinbase() {
	if minbaseDir != "" {
		os.RemoveAll(minbaseDir)
	}
}

package runcmd

import (
	"context"
	"os"
	"sync"
	"testing"

	mb "github.com/drd-linux/drd/internal/minbase"
)

// The debootstrap'd systems the root tests run commands in:
// internal/minbase's, cached under /var/tmp/drd-cache, each unpacked
// once per test run.
var (
	minbaseMu   sync.Mutex
	minbaseDirs = map[string]string{} // suite → directory
)

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: namespaces, mounts, loop devices")
	}
}

// untar unpacks the Debian 12 minbase system into dir.
func untar(ctx context.Context, dir string) error {
	return mb.Default.Unpack(ctx, dir)
}

// minbase returns a directory holding the Debian 12 minbase system,
// shared by the tests of one run: they must not change it, except below
// /tmp-free paths of their own.
func minbase(t testing.TB) string {
	t.Helper()
	return minbaseOf(t, mb.Default)
}

// minbaseOf is minbase for the release sys.
func minbaseOf(t testing.TB, sys mb.System) string {
	t.Helper()
	requireRoot(t)
	minbaseMu.Lock()
	defer minbaseMu.Unlock()
	if dir, ok := minbaseDirs[sys.Suite]; ok {
		return dir
	}
	dir, err := os.MkdirTemp("/var/tmp", "drd-minbase-"+sys.Suite+"-")
	if err == nil {
		if err = sys.Unpack(context.Background(), dir); err != nil {
			os.RemoveAll(dir)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	minbaseDirs[sys.Suite] = dir
	return dir
}

// forReleases runs f in a subtest for each Debian release drd is
// proven on (internal/minbase.Releases), named by its suite.
func forReleases(t *testing.T, f func(t *testing.T, sys mb.System)) {
	for _, sys := range mb.Releases {
		t.Run(sys.Suite, func(t *testing.T) { f(t, sys) })
	}
}

func cleanupMinbase() {
	for _, dir := range minbaseDirs {
		os.RemoveAll(dir)
	}
}

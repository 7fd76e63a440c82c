package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/drd-linux/drd/isl"
)

// key hashes the parts that decide what a cached artefact contains.
func key(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// cached returns dir, building it with build first if it is not there.
// build fills a temporary directory next to dir, which is renamed to dir
// only when build succeeds, so a failed or interrupted build never leaves a
// half artefact behind. A lock file keeps two harnesses (several engineers,
// several test binaries) from building the same thing at once.
func cached(ctx context.Context, dir string, build func(tmp string) error) (hit bool, err error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return false, fmt.Errorf("making the cache directory: %w", err)
	}
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return false, fmt.Errorf("locking %s: %w", dir, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return false, fmt.Errorf("locking %s: %w", dir, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(filepath.Join(dir, "ok")); err == nil {
		return true, nil
	}
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return false, fmt.Errorf("removing the leftovers of an earlier build in %s: %w", tmp, err)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return false, err
	}
	if err := build(tmp); err != nil {
		return false, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "ok"), nil, 0o644); err != nil {
		return false, err
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return false, fmt.Errorf("publishing %s: %w", dir, err)
	}
	return false, nil
}

// run runs a host program and returns its standard output. Failures say
// what ran and what it printed.
func run(ctx context.Context, name string, args ...string) (string, error) {
	return runIn(ctx, "", nil, name, args...)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string { return isl.Tail([]byte(s), n) }

// runIn is run in directory dir with extra environment variables.
func runIn(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "LC_ALL=C"), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("running %s: %w\n%s%s", strings.Join(cmd.Args, " "), err, lastLines(stdout.String(), 20), lastLines(stderr.String(), 40))
	}
	return stdout.String(), nil
}

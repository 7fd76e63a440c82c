package runcmd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The debootstrap'd system the root tests run commands in: built once
// and cached as a tar file under /var/tmp/drd-cache, keyed by suite,
// variant and package list; unpacked once per test run.
var (
	minbaseSuite    = "bookworm"
	minbaseVariant  = "minbase"
	minbasePackages = []string{"iproute2", "kmod", "nftables", "procps", "psmisc", "systemd"}

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

// minbaseTar returns the cached tar file, making it with debootstrap
// (about 90 s) when it is missing.
func minbaseTar(ctx context.Context) (string, error) {
	pkgs := append([]string(nil), minbasePackages...)
	sort.Strings(pkgs)
	cache := "/var/tmp/drd-cache"
	tarFile := filepath.Join(cache, fmt.Sprintf("%s-%s-%s.tar", minbaseSuite, minbaseVariant, strings.Join(pkgs, ",")))
	if _, err := os.Stat(tarFile); err == nil {
		return tarFile, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(cache, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "root")
	steps := [][]string{
		{"debootstrap", "--variant=" + minbaseVariant, "--include=" + strings.Join(pkgs, ","), minbaseSuite, root, "http://deb.debian.org/debian"},
		{"tar", "-C", root, "--numeric-owner", "--xattrs", "-cf", filepath.Join(tmp, "out.tar"), "."},
	}
	for _, s := range steps {
		if out, err := exec.CommandContext(ctx, s[0], s[1:]...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("%s: %v\n%s", strings.Join(s, " "), err, out)
		}
	}
	return tarFile, os.Rename(filepath.Join(tmp, "out.tar"), tarFile)
}

// untar unpacks the minbase tar into dir.
func untar(ctx context.Context, dir string) error {
	tarFile, err := minbaseTar(ctx)
	if err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "tar", "-C", dir, "--numeric-owner", "--xattrs", "-xf", tarFile).CombinedOutput(); err != nil {
		return fmt.Errorf("unpacking %s: %v\n%s", tarFile, err, out)
	}
	return nil
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

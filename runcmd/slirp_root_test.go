package runcmd

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drd-linux/drd/internal/report"
)

// fakeSlirp writes script, a stand-in for slirp4netns, and returns its
// path.
func fakeSlirp(t *testing.T, script string) string {
	fake := filepath.Join(t.TempDir(), "slirp4netns")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return fake
}

// TestJailSlowSlirp: a slirp4netns that takes 12 s to configure the
// jail's network, as a user-mode stack did in a TCG guest at a load of
// 24 (pasta, TestReleaseUpgrade), is waited for: the command runs.
func TestJailSlowSlirp(t *testing.T) {
	root := minbase(t)
	if !readRoutes("/proc").out {
		t.Skip("the booted system has no default route: drd runs the jail without slirp4netns")
	}
	// Says it is ready on --ready-fd (4), 12 s late, then stays, as
	// slirp4netns does.
	fake := fakeSlirp(t, "sleep 12\nprintf 1 >&4\nexec sleep 600\n")
	start := time.Now()
	res, err := Jail{Slirp: fake}.Run(context.Background(), Plan(PlanInput{Root: root, Argv: []string{"true"}}), Stdio{}, report.Func(t.Logf))
	if err != nil || res.Exit != 0 {
		t.Fatalf("a slirp4netns ready after 12 s: %+v %v", res, err)
	}
	t.Logf("the jail ran after %.1f s", time.Since(start).Seconds())
}

// TestJailSlirpFails: a slirp4netns that ends before it is ready fails
// the run at once, with what it said; the command never runs.
func TestJailSlirpFails(t *testing.T) {
	root := minbase(t)
	if !readRoutes("/proc").out {
		t.Skip("the booted system has no default route: drd runs the jail without slirp4netns")
	}
	fake := fakeSlirp(t, "echo 'ioctl(TUNSETIFF): Device or resource busy' >&2\nexit 1\n")
	start := time.Now()
	res, err := Jail{Slirp: fake}.Run(context.Background(), Plan(PlanInput{Root: root, Argv: []string{"sh", "-c", "touch /ran"}}), Stdio{}, report.Discard)
	if err == nil || !strings.Contains(err.Error(), "TUNSETIFF") || !strings.Contains(err.Error(), "slirp4netns") {
		t.Fatalf("a failing slirp4netns: %+v %v, want its error", res, err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the failure took %v: it should not wait for SlirpReady", d)
	}
	if _, err := os.Stat(filepath.Join(root, "ran")); err == nil {
		t.Error("the command ran without its network")
	}
}

// TestJailSlirpSharedTmp: on a booted system whose /tmp is a shared mount
// of its own (Debian 13's tmp.mount), the jail's network still comes up:
// slirp4netns's sandbox mounts a tmpfs on /tmp and pivot_roots into it,
// which the kernel refuses on a shared mount ("cannot pivot_root to
// /tmp", TestRuncmd/bios-13), so drd starts it with every mount private.
// The jail runs in a helper whose /tmp is such a mount.
func TestJailSlirpSharedTmp(t *testing.T) {
	root := minbase(t)
	if !readRoutes("/proc").out {
		t.Skip("the booted system has no default route: drd runs the jail without slirp4netns")
	}
	if _, err := exec.LookPath("slirp4netns"); err != nil {
		t.Skip("no slirp4netns")
	}
	// The test binary, out of the /tmp the helper covers.
	exe := filepath.Join(varTmpDir(t), "runcmd.test")
	if self, err := os.Executable(); err != nil {
		t.Fatal(err)
	} else if out, err := exec.Command("cp", self, exe).CombinedOutput(); err != nil {
		t.Fatalf("cp %s: %v\n%s", self, err, out)
	}
	script := `mount -t tmpfs drd-test-tmp /tmp && mount --make-shared /tmp && exec "$0" -test.run '^TestJailSlirpSharedTmpHelper$' -test.v`
	c := exec.Command("unshare", "-m", "--propagation", "shared", "sh", "-c", script, exe)
	c.Env = append(os.Environ(), "DRD_TEST_SHARED_TMP_ROOT="+root, "TMPDIR=/var/tmp")
	out, err := c.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestJailSlirpSharedTmpHelper") {
		t.Fatalf("the jail's network with /tmp a shared mount: %v\n%s", err, out)
	}
}

// TestJailSlirpSharedTmpHelper is the jail of TestJailSlirpSharedTmp.
func TestJailSlirpSharedTmpHelper(t *testing.T) {
	root := os.Getenv("DRD_TEST_SHARED_TMP_ROOT")
	if root == "" {
		t.Skip("run by TestJailSlirpSharedTmp")
	}
	res, err := Jail{}.Run(context.Background(), Plan(PlanInput{Root: root, Argv: []string{"true"}}), Stdio{}, report.Func(t.Logf))
	if err != nil || res.Exit != 0 {
		t.Fatalf("%+v %v", res, err)
	}
}

// varTmpDir is a directory of the test in /var/tmp, removed after it.
func varTmpDir(t *testing.T) string {
	dir, err := os.MkdirTemp("/var/tmp", "drd-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

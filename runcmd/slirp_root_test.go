package runcmd

import (
	"context"
	"os"
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

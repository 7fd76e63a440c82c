package mount

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (mount)")
	}
}

// mounted tells whether dir is a mount point in this mount namespace.
func mounted(t *testing.T, dir string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

func tmpfs(t *testing.T) Spec {
	return Spec{Source: "drd-test", Type: "tmpfs", Private: true, Dir: t.TempDir()}
}

func TestWithUnmountsAfterAnError(t *testing.T) {
	needRoot(t)
	failed := errors.New("fn failed")
	var at string
	err := With(tmpfs(t), func(dir string) error {
		at = dir
		if !mounted(t, dir) {
			t.Errorf("%s is not mounted inside fn", dir)
		}
		return os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	if mounted(t, at) {
		t.Errorf("%s is still mounted after With", at)
	}
	err = With(tmpfs(t), func(dir string) error { at = dir; return failed })
	if !errors.Is(err, failed) || err.Error() != failed.Error() {
		t.Errorf("With = %v, want fn's error alone", err)
	}
	if mounted(t, at) {
		t.Errorf("%s is still mounted after fn failed", at)
	}
	if _, err := os.Stat(at); !os.IsNotExist(err) {
		t.Errorf("mount point %s left behind: %v", at, err)
	}
}

func TestWithReportsABusyUnmount(t *testing.T) {
	needRoot(t)
	failed := errors.New("fn failed")
	var at string
	var held *os.File
	t.Cleanup(func() {
		if held != nil {
			held.Close()
		}
		if at != "" && mounted(t, at) {
			if err := unix.Unmount(at, 0); err != nil {
				t.Errorf("cleaning up %s: %v", at, err)
			}
		}
	})
	err := With(tmpfs(t), func(dir string) error {
		at = dir
		f, err := os.Create(filepath.Join(dir, "held"))
		held = f
		if err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, unix.EBUSY) || !errors.Is(err, failed) {
		t.Fatalf("With = %v, want fn's error and EBUSY", err)
	}
	for _, want := range []string{"drd-test", at, "fuser"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if !mounted(t, at) {
		t.Errorf("%s is not mounted: the busy unmount cannot have failed", at)
	}

	// The same with Detach: the lazy unmount succeeds, nothing to report.
	held.Close()
	held = nil
	unix.Unmount(at, 0)
	s := tmpfs(t)
	s.Detach = true
	err = With(s, func(dir string) error {
		at = dir
		f, err := os.Create(filepath.Join(dir, "held"))
		held = f
		return err
	})
	if err != nil {
		t.Errorf("With, Detach = %v, want nil", err)
	}
	if mounted(t, at) {
		t.Errorf("%s is still mounted after a lazy unmount", at)
	}
}

func TestWithBindReadOnly(t *testing.T) {
	needRoot(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := With(Spec{Source: src, Bind: true, Private: true, Flags: ReadOnly, Dir: t.TempDir()}, func(dir string) error {
		if b, err := os.ReadFile(filepath.Join(dir, "f")); err != nil || string(b) != "x" {
			t.Errorf("reading through the bind mount: %q, %v", b, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "g"), nil, 0o600); !errors.Is(err, unix.EROFS) {
			t.Errorf("writing in a read-only bind mount: %v, want EROFS", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenReportsABusyUnmount(t *testing.T) {
	needRoot(t)
	dir, unmount, err := Open(tmpfs(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	f, err := os.Create(filepath.Join(dir, "held"))
	if err != nil {
		t.Fatal(err)
	}
	err = unmount()
	if !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "drd-test") {
		t.Errorf("unmount while a file is open = %v, want EBUSY naming drd-test and %s", err, dir)
	}
	f.Close()
	if err := unmount(); err != nil {
		t.Fatalf("unmount once the file is closed: %v", err)
	}
	if mounted(t, dir) {
		t.Errorf("%s is still mounted", dir)
	}
	if err := unmount(); err != nil {
		t.Errorf("a second unmount after it succeeded: %v, want nil", err)
	}
}

// TestAtKeepsItsDirectory: At mounts at the caller's directory, its
// unmount reports a busy file system and leaves the directory in place
// once unmounted; Unmount (a later command's) names the directory.
func TestAtKeepsItsDirectory(t *testing.T) {
	needRoot(t)
	dir := filepath.Join(t.TempDir(), "boot")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := tmpfs(t)
	unmount, err := At(s, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if mounted(t, dir) {
			unix.Unmount(dir, unix.MNT_DETACH)
		}
	})
	if !mounted(t, dir) {
		t.Fatalf("%s is not mounted after At", dir)
	}
	held, err := os.Create(filepath.Join(dir, "held"))
	if err != nil {
		t.Fatal(err)
	}
	if err := unmount(); !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "drd-test") {
		t.Errorf("unmount of a busy At mount = %v, want EBUSY naming drd-test and %s", err, dir)
	}
	if err := Unmount(dir); !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), dir) {
		t.Errorf("Unmount of a busy mount = %v, want EBUSY naming %s", err, dir)
	}
	held.Close()
	if err := unmount(); err != nil {
		t.Fatal(err)
	}
	if mounted(t, dir) {
		t.Errorf("%s is still mounted", dir)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Errorf("At's directory %s is gone after the unmount: %v", dir, err)
	}
	if _, err := At(Spec{Source: "/nonexistent-drd-device", Type: "ext4"}, dir); err == nil || !strings.Contains(err.Error(), "mounting /nonexistent-drd-device at "+dir) {
		t.Errorf("At of a missing device = %v, want an error naming it and %s", err, dir)
	}
	if err := Unmount(dir); !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), dir) {
		t.Errorf("Unmount of a directory not mounted = %v, want EINVAL naming %s", err, dir)
	}
}

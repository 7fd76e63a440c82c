package runcmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/internal/testsys"
)

// recorder is a Reporter that keeps the warnings.
type recorder struct {
	t     *testing.T
	mu    sync.Mutex
	warns []string
}

func (r *recorder) Step(f string, a ...any) { r.t.Logf("* "+f, a...) }
func (r *recorder) Note(f string, a ...any) { r.t.Logf("  "+f, a...) }
func (r *recorder) Warn(f string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.warns = append(r.warns, fmt.Sprintf(f, a...))
	r.t.Logf("  WARNING: "+f, a...)
}
func (r *recorder) Progress(report.Progress) {}

// clonedMinbase builds a test system holding the minbase (with dpkg and
// apt), clones it to an image file, and returns the booted root.
func clonedMinbase(t *testing.T, ctx context.Context) string {
	t.Helper()
	requireRoot(t)
	s, err := testsys.Build(ctx, t.TempDir(), testsys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	fstab, err := os.ReadFile(filepath.Join(s.Root, "etc/fstab"))
	if err != nil {
		t.Fatal(err)
	}
	if err := untar(ctx, s.Root); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Root, "etc/fstab"), fstab, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: filepath.Join(t.TempDir(), "clone.img")}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bootenv.Umount(context.Background(), s.Root, "sysimage_001", report.Discard) })
	return s.Root
}

// makeDeb builds a package with dpkg-deb into dir.
func makeDeb(t *testing.T, dir, name, extraControl string, scripts, files map[string]string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), name)
	os.MkdirAll(filepath.Join(src, "DEBIAN"), 0o755)
	control := fmt.Sprintf("Package: %s\nVersion: 1.0-1\nArchitecture: all\nMaintainer: drd tests <drd@example.org>\nDescription: drd test package\n%s", name, extraControl)
	os.WriteFile(filepath.Join(src, "DEBIAN/control"), []byte(control), 0o644)
	for n, body := range scripts {
		os.WriteFile(filepath.Join(src, "DEBIAN", n), []byte(body), 0o755)
	}
	for p, body := range files {
		os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(src, p), []byte(body), 0o755)
	}
	deb := filepath.Join(dir, name+".deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-b", src, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, out)
	}
	return deb
}

// inImage mounts the clone, calls f with its root, and unmounts it.
func inImage(t *testing.T, root string, f func(dir string)) {
	t.Helper()
	dir, err := bootenv.Mount(context.Background(), root, "sysimage_001", report.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := bootenv.Umount(context.Background(), root, "sysimage_001", report.Discard); err != nil {
			t.Error(err)
		}
	}()
	f(dir)
}

func lastEvent(t *testing.T, root string) (bootenv.State, bootenv.Event) {
	var rec *bootenv.Record
	inImage(t, root, func(dir string) {
		var err error
		if rec, err = bootenv.ReadRecord(dir); err != nil {
			t.Fatal(err)
		}
	})
	return rec.State, rec.History[len(rec.History)-1]
}

// TestRuncmdOnClone runs dpkg and apt-get in the runcmd environment of a
// real clone: a package whose scripts try every attack, one that says it
// is not DRD-safe, and one whose script is interrupted.
func TestRuncmdOnClone(t *testing.T) {
	ctx := context.Background()
	root := clonedMinbase(t, ctx)
	repo := t.TempDir()
	os.Chmod(repo, 0o755)
	hostDir := t.TempDir()
	victim := sentinel(t)
	args := fmt.Sprintf("%d %s %s/none.sock", victim.Process.Pid, hostDir, hostDir)
	// The attacks, in the postinst itself, as a careless package would
	// have them, plus the two lines a reading of the script flags.
	postinst := "#!/bin/sh\nexec >/var/log/drd-attack.log 2>&1\nset -- " + args + "\n" +
		"pkill -x drd-no-such-daemon || true\nsystemctl restart drd-no-such.service || true\n" +
		strings.TrimPrefix(attackScript, "#!/bin/sh\n") + "exit 0\n"
	makeDeb(t, repo, "drd-attack", "", map[string]string{"postinst": postinst}, nil)
	makeDeb(t, repo, "drd-unsafe", "X-DRD-Safe: no\n", nil, nil)
	makeDeb(t, repo, "drd-slow", "", map[string]string{"postinst": "#!/bin/sh\nsleep 30\n"}, nil)
	out, _ := os.Create(filepath.Join(t.TempDir(), "out"))
	defer out.Close()
	exe, _ := os.Executable()
	run := func(ctx context.Context, argv ...string) (*recorder, error) {
		r := &recorder{t: t}
		err := Run(ctx, Options{Root: root, Image: "sysimage_001", Argv: argv, Binds: []string{repo}, Stdio: Stdio{Out: out, Err: out}, Exe: exe}, r)
		data, _ := os.ReadFile(out.Name())
		t.Logf("drd runcmd %s: %v\n%s", strings.Join(argv, " "), err, data)
		out.Truncate(0)
		out.Seek(0, 0)
		return r, err
	}

	t.Run("attacks", func(t *testing.T) {
		before := readHost(t)
		r, err := run(ctx, "dpkg", "-i", repo+"/drd-attack.deb")
		if err != nil {
			t.Fatal(err)
		}
		before.same(t, readHost(t))
		alive(t, victim)
		warned := strings.Join(r.warns, "\n")
		for _, w := range []string{"drd-attack 1.0-1 may not be DRD-safe", "illegal kill", "illegal restart", "left process", "sleep 3601"} {
			if !strings.Contains(warned, w) {
				t.Errorf("no warning saying %q in\n%s", w, warned)
			}
		}
		inImage(t, root, func(dir string) {
			log, err := os.ReadFile(filepath.Join(dir, "var/log/drd-attack.log"))
			if err != nil {
				t.Fatal(err)
			}
			checkAttacks(t, string(log))
			if _, err := os.Lstat(filepath.Join(dir, "usr/sbin/policy-rc.d")); err == nil {
				t.Error("policy-rc.d left in the image")
			}
		})
		state, ev := lastEvent(t, root)
		if state != bootenv.Complete || ev.Action != "runcmd" || ev.Result != "succeeded" ||
			len(ev.Changes) != 1 || ev.Changes[0] != (bootenv.PackageChange{Package: "drd-attack", To: "1.0-1"}) {
			t.Errorf("state %s, event %+v", state, ev)
		}
	})

	t.Run("unsafe", func(t *testing.T) {
		if _, err := run(ctx, "dpkg", "-i", repo+"/drd-unsafe.deb"); err == nil || !strings.Contains(err.Error(), "refusing drd-unsafe") {
			t.Errorf("dpkg -i of a package with X-DRD-Safe: no: %v", err)
		}
		_, err := run(ctx, "apt-get", "install", "-y", repo+"/drd-unsafe.deb")
		if err == nil {
			t.Fatal("apt-get installed a package with X-DRD-Safe: no")
		}
		state, ev := lastEvent(t, root)
		if state != bootenv.Complete || ev.Result != "failed" || len(ev.Changes) != 0 {
			t.Errorf("state %s, event %+v", state, ev)
		}
	})

	t.Run("interrupted", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(3*time.Second, cancel)
		_, err := run(ctx, "dpkg", "-i", repo+"/drd-slow.deb")
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("err %v, want interrupted", err)
		}
		state, ev := lastEvent(t, root)
		if state != bootenv.Broken || ev.Result != "interrupted" {
			t.Errorf("state %s, event %+v", state, ev)
		}
		if _, err := run(context.Background(), "dpkg", "--remove", "drd-slow"); err != nil {
			t.Fatal(err)
		}
		state, ev = lastEvent(t, root)
		if state != bootenv.Complete || ev.Result != "succeeded" || len(ev.Changes) != 1 || ev.Changes[0].To != "" {
			t.Errorf("after a completed runcmd: state %s, event %+v", state, ev)
		}
	})
	if pids := sleepers(t); len(pids) > 0 {
		t.Errorf("sleeps outlived the jail: %v", pids)
	}
	_ = strconv.Itoa
}

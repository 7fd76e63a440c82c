package imagesync_test

import (
	"context"
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/clone/imagesync"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/internal/testsys"
)

func shell(t *testing.T, dir, script string) {
	t.Helper()
	cmd := exec.Command("sh", "-ec", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
}

func fileHash(t *testing.T, p string) [32]byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}

// inClone runs fn with the clone mounted (drd mount), as runcmd would.
func inClone(t *testing.T, root string, fn func(dir string)) {
	t.Helper()
	ctx := context.Background()
	dir, err := bootenv.Mount(ctx, root, testsys.CloneName(t, root), report.Func(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := bootenv.Umount(ctx, root, "", report.Func(t.Logf)); err != nil {
			t.Fatal(err)
		}
	}()
	fn(dir)
}

// TestSyncAfterClone: a real clone records its manifest; drd sync -p
// lists the booted image's changes and leaves the clone's image file
// byte for byte as it was; drd sync copies them, merges /etc and keeps
// the clone's own change; a second sync finds nothing to do.
func TestSyncAfterClone(t *testing.T) {
	s := testsys.ForTest(t, testsys.Options{})
	shell(t, s.Root, `mkdir -p etc srv/data var/log
		printf 'root:x:0:0:root:/root:/bin/sh\n' > etc/passwd
		printf 'hello\n' > etc/motd
		echo one > srv/data/a; echo two > srv/data/b; echo log > var/log/app.log
		mkdir -p var/lib/dpkg/info usr/share/foo
		printf 'Package: foo\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n\n' > var/lib/dpkg/status
		printf '/usr/share/foo\n/usr/share/foo/data\n' > var/lib/dpkg/info/foo.list
		echo foo 1.0 > usr/share/foo/data`)
	ctx := context.Background()
	target := filepath.Join(t.TempDir(), "clone.img")
	if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: target}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	inClone(t, s.Root, func(dir string) {
		shell(t, dir, `echo '_svc:x:100:65534::/nonexistent:/usr/sbin/nologin' >> etc/passwd; echo clone > srv/data/b`)
	})
	shell(t, s.Root, `echo 'alice:x:1000:1000::/home/alice:/bin/sh' >> etc/passwd
		echo more >> var/log/app.log; rm srv/data/a; echo new > srv/data/c; echo booted > srv/data/b
		mkdir -p etc/drd; echo /srv/skip > etc/drd/sync.exclude; mkdir srv/skip; echo x > srv/skip/f
		sed -i 's/Version: 1.0/Version: 2.0/' var/lib/dpkg/status; echo foo 2.0 > usr/share/foo/data`)

	before := fileHash(t, target)
	m := bootenv.Real(s.Root)
	name := testsys.CloneName(t, s.Root)
	res, err := imagesync.Run(ctx, imagesync.Options{Machine: m, Image: name, Preview: true, Logf: t.Logf}, report.Func(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	if fileHash(t, target) != before {
		t.Error("drd sync -p changed the clone's image file")
	}
	list, err := os.ReadFile(filepath.Join(s.Root, imagesync.Dir, imagesync.CopiedList))
	if err != nil || !strings.Contains(string(list), "/srv/data/c\n") {
		t.Errorf("copied.list of the preview: %q, %v", list, err)
	}
	if res.Clean() {
		t.Error("the preview found no conflict (srv/data/b)")
	}

	res, err = imagesync.Run(ctx, imagesync.Options{Machine: m, Image: name, Logf: t.Logf}, report.Func(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	for _, c := range [][2]any{
		{slices.Contains(res.Copied, "/srv/data/c") && slices.Contains(res.Copied, "/var/log/app.log"), "copied"},
		{slices.Equal(res.Deleted, []string{"/srv/data/a"}), "deleted"},
		{slices.Equal(res.Merged, []string{"/etc/passwd"}), "merged"},
		{len(res.Conflicts) == 1 && res.Conflicts[0].Path == "/srv/data/b", "conflicts"},
		{slices.Contains(res.Excluded, "/srv/skip"), "excluded"},
		{len(res.Packages) == 1 && res.Packages[0].Name == "foo" && res.Packages[0].Version == "2.0", "packages"},
		{!slices.Contains(res.Copied, "/usr/share/foo/data"), "a changed package's file copied"},
	} {
		if !c[0].(bool) {
			t.Errorf("%s: %+v", c[1], res)
		}
	}
	inClone(t, s.Root, func(dir string) {
		pw, _ := os.ReadFile(filepath.Join(dir, "etc/passwd"))
		if !strings.Contains(string(pw), "alice") || !strings.Contains(string(pw), "_svc") {
			t.Errorf("clone's passwd:\n%s", pw)
		}
		for f, want := range map[string]string{"usr/share/foo/data": "foo 1.0\n", "var/lib/dpkg/status": "Package: foo\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n\n", "srv/data/b": "clone\n", "srv/data/b.drd-booted": "booted\n", "srv/data/c": "new\n", "var/log/app.log": "log\nmore\n"} {
			if got, _ := os.ReadFile(filepath.Join(dir, f)); string(got) != want {
				t.Errorf("clone's %s: %q, want %q", f, got, want)
			}
		}
		if _, err := os.Lstat(filepath.Join(dir, "srv/skip")); err == nil {
			t.Error("an excluded path was synced")
		}
	})
	again, err := imagesync.Run(ctx, imagesync.Options{Machine: m, Image: name, Logf: t.Logf}, report.Func(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Copied)+len(again.Deleted)+len(again.Merged) != 0 || len(again.Conflicts) != 1 || len(again.Packages) != 1 {
		t.Errorf("second sync: %+v", again)
	}
}

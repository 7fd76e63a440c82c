package inroot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// tree makes an image-like tree beside a victim directory standing for
// the booted system: image/etc/ok is the image's file, host/victim the
// booted system's, which nothing may read through the image or change.
func tree(t *testing.T) (img, host string) {
	t.Helper()
	top := t.TempDir()
	img, host = filepath.Join(top, "image"), filepath.Join(top, "host")
	for _, d := range []string{"image/etc", "image/var/opt", "image/boot", "host"} {
		if err := os.MkdirAll(filepath.Join(top, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(filepath.Join(top, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("image/etc/ok", "image's")
	write("host/victim", "booted system's")
	links := map[string]string{
		"image/abs-out":         filepath.Join(host, "victim"),     // an absolute link naming the booted system's file
		"image/abs-dir-out":     host,                              // and its directory
		"image/rel-out":         "../../host/victim",               // climbing out with ..
		"image/rel-dir-out":     "../../../../../../../../" + host, // far up, then down
		"image/abs-in":          "/etc/ok",                         // absolute, meant inside the image
		"image/var/opt/drd":     host,                              // /var/opt/drd replaced by a link out
		"image/boot/grub":       "/../../../" + host,               // /boot/grub too
		"image/proc-self-root":  "/proc/self/root" + host + "/victim",
		"image/etc/dangling-in": "missing",
	}
	for l, dest := range links {
		if err := os.Symlink(dest, filepath.Join(top, l)); err != nil {
			t.Fatal(err)
		}
	}
	return img, host
}

func TestRead(t *testing.T) {
	img, _ := tree(t)
	for _, tc := range []struct {
		name  string
		want  string // "" means the read must fail
		errno error
	}{
		{"etc/ok", "image's", nil},
		{"/etc/ok", "image's", nil},
		{"abs-in", "image's", nil},             // an absolute link is taken in the image
		{"../../host/victim", "", unix.ENOENT}, // .. stops at the image's top
		{"abs-out", "", unix.ENOENT},           // resolved as image/<host path>
		{"rel-out", "", unix.ENOENT},
		{"abs-dir-out/victim", "", unix.ENOENT},
		{"rel-dir-out/victim", "", unix.ENOENT},
		{"var/opt/drd/victim", "", unix.ENOENT},
		{"boot/grub/victim", "", unix.ENOENT},
		{"proc-self-root", "", unix.ENOENT}, // no /proc in the image: the link finds nothing
		{"etc/dangling-in", "", unix.ENOENT},
		{"etc", "", nil}, // a directory is no file
	} {
		got, err := Image(img).ReadFile(tc.name)
		if tc.want != "" {
			if err != nil || string(got) != tc.want {
				t.Errorf("ReadFile(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("ReadFile(%q) = %q, want an error", tc.name, got)
			continue
		}
		if strings.Contains(string(got), "booted") {
			t.Errorf("ReadFile(%q) read the booted system's file", tc.name)
		}
		if tc.errno != nil && !errors.Is(err, tc.errno) {
			t.Errorf("ReadFile(%q): %v, want %v", tc.name, err, tc.errno)
		}
	}
}

// TestOtherFileSystems: the machine's own / stands for an image in which
// /proc and /sys are other file systems.
func TestOtherFileSystems(t *testing.T) {
	if _, err := os.Stat("/proc/self/root"); err != nil {
		t.Skip("no /proc")
	}
	for _, tc := range []struct {
		tree  Tree
		name  string
		errno error // nil: it must work
	}{
		{Image("/"), "proc/version", unix.EXDEV}, // another file system
		{Image("/"), "proc/self/root/etc/hostname", unix.EXDEV},
		{Mounts("/"), "proc/version", nil},                       // allowed across mounts...
		{Mounts("/"), "proc/self/root/proc/version", unix.ELOOP}, // ...never through a magic link
		{Mounts("/"), "proc/self/cwd", unix.ELOOP},
	} {
		_, err := tc.tree.ReadFile(tc.name)
		switch {
		case tc.errno == nil && err != nil:
			t.Errorf("%s: ReadFile(%q): %v", tc.tree.Dir, tc.name, err)
		case tc.errno != nil && !errors.Is(err, tc.errno):
			t.Errorf("%s: ReadFile(%q): %v, want %v", tc.tree.Dir, tc.name, err, tc.errno)
		}
	}
}

func TestWriteNeverLeaves(t *testing.T) {
	img, host := tree(t)
	tr := Image(img)
	for _, name := range []string{
		"abs-out", // a link as the last component is replaced
		"rel-out",
		"abs-dir-out/victim", // a link on the way is taken inside the image
		"var/opt/drd/victim",
		"boot/grub/victim",
		"../../host/victim",
	} {
		err := tr.WriteFile(name, []byte("drd's"), 0o644)
		if got, _ := os.ReadFile(filepath.Join(host, "victim")); string(got) != "booted system's" {
			t.Fatalf("WriteFile(%q) changed the booted system's file: %q", name, got)
		}
		if err != nil && !errors.Is(err, unix.ENOENT) {
			t.Errorf("WriteFile(%q): %v", name, err)
		}
	}
	// The links as last component became files of the image.
	if fi, err := os.Lstat(filepath.Join(img, "abs-out")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("abs-out: %v %v, want the link replaced by a file", fi, err)
	}
	if got, err := tr.ReadFile("rel-out"); string(got) != "drd's" {
		t.Errorf("rel-out = %q, %v", got, err)
	}
	ents, _ := os.ReadDir(host)
	if len(ents) != 1 {
		t.Errorf("the booted system's directory has %d entries, want 1", len(ents))
	}
}

func TestMkdirAllRemove(t *testing.T) {
	img, host := tree(t)
	tr := Image(img)
	// Through the link var/opt/drd, which names a directory the image
	// lacks: nothing is made, least of all on the booted system.
	if err := tr.MkdirAll("var/opt/drd/mnts/x", 0o755); !errors.Is(err, unix.ENOENT) {
		t.Errorf("MkdirAll through a link out: %v, want ENOENT", err)
	}
	if _, err := os.Stat(filepath.Join(host, "mnts")); err == nil {
		t.Fatal("MkdirAll made a directory on the booted system")
	}
	// Through a link that stays in the image: made where it points.
	if err := os.Symlink("/etc", filepath.Join(img, "etc-link")); err != nil {
		t.Fatal(err)
	}
	if err := tr.MkdirAll("etc-link/new/x", 0o755); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(img, "etc/new/x")); err != nil || !fi.IsDir() {
		t.Errorf("image/etc/new/x: %v", err)
	}
	if err := tr.MkdirAll("etc/ok/sub", 0o755); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("MkdirAll under a file: %v, want ENOTDIR", err)
	}
	// Remove takes the link, not what it names.
	if err := tr.Remove("abs-out"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(host, "victim")); err != nil {
		t.Fatalf("Remove(abs-out) removed the booted system's file: %v", err)
	}
	if err := tr.Remove("abs-dir-out/victim"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("Remove through a link out: %v, want ENOENT", err)
	}
	if _, err := os.Stat(filepath.Join(host, "victim")); err != nil {
		t.Fatal("Remove through a link removed the booted system's file")
	}
	if err := tr.Remove("etc-link/new/x"); err != nil {
		t.Errorf("Remove of an empty directory: %v", err)
	}
}

func TestLstatReadlink(t *testing.T) {
	img, host := tree(t)
	tr := Image(img)
	fi, err := tr.Lstat("var/opt/drd")
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("Lstat(var/opt/drd) = %v, %v; want the link", fi, err)
	}
	if dest, err := tr.Readlink("var/opt/drd"); err != nil || dest != host {
		t.Errorf("Readlink = %q, %v", dest, err)
	}
	if _, err := tr.Stat("var/opt/drd"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("Stat(var/opt/drd) = %v, want ENOENT (the link resolved inside the image)", err)
	}
	if fi, err := tr.Stat("abs-in"); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("Stat(abs-in) = %v, %v", fi, err)
	}
	if _, err := tr.Readlink("abs-dir-out/victim"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("Readlink through a link out: %v", err)
	}
	var ie *Error
	if _, err := tr.ReadFile("abs-out"); !errors.As(err, &ie) || !strings.Contains(err.Error(), img) {
		t.Errorf("error %v does not name the image", err)
	}
}

func TestSymlink(t *testing.T) {
	img, host := tree(t)
	tr := Image(img)
	if err := tr.Symlink("/etc/ok", "abs-dir-out/new"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("Symlink through a link out: %v, want ENOENT", err)
	}
	if _, err := os.Lstat(filepath.Join(host, "new")); err == nil {
		t.Fatal("Symlink made a link on the booted system")
	}
	if err := tr.Symlink("ok", "etc/new"); err != nil {
		t.Fatal(err)
	}
	if got, err := tr.ReadFile("etc/new"); string(got) != "image's" {
		t.Errorf("etc/new = %q, %v", got, err)
	}
}

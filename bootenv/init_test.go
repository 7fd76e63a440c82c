package bootenv

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInitOf(t *testing.T) {
	for _, tt := range []struct{ cmdline, want string }{
		{"", "/sbin/init"},
		{"root=UUID=x ro quiet", "/sbin/init"},
		{"ro init=/lib/systemd/systemd quiet", "/lib/systemd/systemd"},
		{"init=/bin/a init=/bin/b", "/bin/b"},
		{"init= ro", "/sbin/init"},
		{"rdinit=/x ro", "/sbin/init"},
	} {
		if got := InitOf(tt.cmdline); got != tt.want {
			t.Errorf("InitOf(%q) = %q, want %q", tt.cmdline, got, tt.want)
		}
	}
}

// fakeImage is a tree of an image for the init check: files and links
// under dir/root, and the paths of a host file outside it.
type fakeImage struct{ root, host string }

func newFakeImage(t *testing.T) fakeImage {
	dir := t.TempDir()
	img := fakeImage{root: filepath.Join(dir, "root"), host: filepath.Join(dir, "hostinit")}
	// A host file, outside the image, that would do as an init: a link
	// that reached it must not count.
	mustWrite(t, img.host, "#!/bin/sh\n", 0o755)
	for _, d := range []string{"usr/lib/systemd", "usr/sbin", "etc"} {
		if err := os.MkdirAll(filepath.Join(img.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(img.root, "usr/lib/systemd/systemd"), "ELF", 0o755)
	mustWrite(t, filepath.Join(img.root, "etc/motd"), "hello", 0o644)
	for link, to := range map[string]string{"lib": "usr/lib", "sbin": "usr/sbin", "bin": "usr/bin"} {
		if err := os.Symlink(to, filepath.Join(img.root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// init makes the image's /usr/sbin/init: a link to target, or (target
// "") nothing.
func (f fakeImage) init(t *testing.T, target string) {
	p := filepath.Join(f.root, "usr/sbin/init")
	os.RemoveAll(p)
	if target != "" {
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
}

func (f fakeImage) lstat(mps ...string) lstatFunc {
	return imageLstat(mps, func(mp string) (string, error) {
		return filepath.Join(f.root, mp), nil
	})
}

func TestInitProblem(t *testing.T) {
	img := newFakeImage(t)
	relHost, err := filepath.Rel(filepath.Join(img.root, "usr/sbin"), img.host)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		setup func()
		init  string
		want  string // "" for none; else a part of the problem
	}{
		{"debian's absolute link through /lib", func() { img.init(t, "/lib/systemd/systemd") }, "/sbin/init", ""},
		{"a relative link", func() { img.init(t, "../lib/systemd/systemd") }, "/sbin/init", ""},
		{"missing", func() { img.init(t, "") }, "/sbin/init", "/sbin/init is missing"},
		{"dangling link", func() { img.init(t, "/lib/systemd/gone") }, "/sbin/init", "/usr/lib/systemd/gone, where its links lead"},
		{"absolute link to a host file", func() { img.init(t, img.host) }, "/sbin/init", "is missing"},
		{"relative link out of the image to a host file", func() { img.init(t, relHost) }, "/sbin/init", "is missing"},
		{"a directory", func() { img.init(t, "/etc") }, "/sbin/init", "/etc is a directory"},
		{"not executable", func() { img.init(t, "/etc/motd") }, "/sbin/init", "not executable (/etc/motd has mode 0644)"},
		{"a loop of links", func() { img.init(t, "init") }, "/sbin/init", "loop of links"},
		{"through a file", func() { img.init(t, "/etc/motd/x") }, "/sbin/init", "is missing"},
		{"init= names the file", func() { img.init(t, "") }, "/lib/systemd/systemd", ""},
		{"init= names no absolute path", func() {}, "systemd", "no absolute path"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup()
			got := initProblem(tt.init, img.lstat("/"))
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("initProblem(%s) = %q, want %q", tt.init, got, tt.want)
			}
		})
	}
}

// A /usr of its own: the lookup goes on in the file system that holds
// the path, and a link there still resolves from the image's top.
func TestInitProblemSeparateUsr(t *testing.T) {
	dir := t.TempDir()
	root, usr := filepath.Join(dir, "root"), filepath.Join(dir, "usr")
	for _, d := range []string{filepath.Join(root, "usr"), filepath.Join(usr, "lib/systemd"), filepath.Join(usr, "sbin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(usr, "lib/systemd/systemd"), "ELF", 0o755)
	for link, to := range map[string]string{filepath.Join(root, "sbin"): "usr/sbin", filepath.Join(root, "lib"): "usr/lib", filepath.Join(usr, "sbin/init"): "/lib/systemd/systemd"} {
		if err := os.Symlink(to, link); err != nil {
			t.Fatal(err)
		}
	}
	var opened []string
	lstat := imageLstat([]string{"/", "/usr", "/boot"}, func(mp string) (string, error) {
		opened = append(opened, mp)
		switch mp {
		case "/":
			return root, nil
		case "/usr":
			return usr, nil
		}
		return "", errors.New("opened " + mp)
	})
	if got := initProblem("/sbin/init", lstat); got != "" {
		t.Errorf("init on a separate /usr: %s", got)
	}
	if strings.Join(opened, " ") != "/ /usr" {
		t.Errorf("opened %q, want / then /usr, each once", opened)
	}
	// Only the root file system: /usr is an empty directory there.
	if got := initProblem("/sbin/init", imageLstat([]string{"/"}, func(string) (string, error) { return root, nil })); !strings.Contains(got, "missing") {
		t.Errorf("init with /usr not opened: %q, want missing", got)
	}
}

func TestInitErrorSaysWhatToDo(t *testing.T) {
	e := &InitError{Image: "sysimage_001", Init: "/sbin/init", Problem: "/sbin/init is missing"}
	for _, want := range []string{"sysimage_001 cannot boot", "/sbin/init is missing", "drd runcmd -x image=sysimage_001 apt-get install --reinstall systemd-sysv"} {
		if !strings.Contains(e.Error(), want) {
			t.Errorf("%q lacks %q", e.Error(), want)
		}
	}
}

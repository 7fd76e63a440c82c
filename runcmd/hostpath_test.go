package runcmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/drd-linux/drd/internal/report"
)

func TestFindHostOnly(t *testing.T) {
	host := []string{"/dev/sda", "/proc/cmdline", "/srv/pkgs/x.deb", "/home/u/y.deb", "/home/u/sub/z.rpm", "/etc/hosts", "/srv/list", "/home/u/notes"}
	image := []string{"/etc/hosts", "/usr/bin/vim.basic"}
	has := func(set []string) func(string) bool {
		return func(p string) bool { return slices.Contains(set, p) }
	}
	for _, tt := range []struct {
		argv   []string
		depots []string
		want   string // host path found; "" for none
		depot  string
	}{
		{[]string{"dpkg", "-i", "/srv/pkgs/x.deb"}, nil, "/srv/pkgs/x.deb", "/srv/pkgs"},
		{[]string{"dpkg", "-i", "/srv/pkgs/x.deb"}, []string{"/srv/pkgs"}, "", ""},
		{[]string{"dpkg", "-i", "/srv/pkgs/x.deb"}, []string{"/srv/"}, "", ""},
		{[]string{"dpkg", "-i", "/srv/pkgs/x.deb"}, []string{"/srv/pk"}, "/srv/pkgs/x.deb", "/srv/pkgs"}, // not a parent
		{[]string{"apt-get", "install", "-y", "./y.deb"}, nil, "/home/u/y.deb", "/home/u"},
		{[]string{"dpkg", "-i", "y.deb"}, nil, "/home/u/y.deb", "/home/u"},
		{[]string{"rpm", "-i", "sub/z.rpm"}, nil, "/home/u/sub/z.rpm", "/home/u/sub"},
		{[]string{"apt-get", "-o", "Dir::Etc::SourceList=/srv/list", "update"}, nil, "", ""}, // not a flag: no "-"
		{[]string{"apt-get", "--option=/srv/list", "update"}, nil, "/srv/list", "/srv"},
		{[]string{"update-alternatives", "--set", "editor", "/usr/bin/vim.basic"}, nil, "", ""}, // in the image
		{[]string{"cat", "/etc/hosts"}, nil, "", ""},                                            // in both
		{[]string{"dpkg", "-i", "/srv/pkgs/none.deb"}, nil, "", ""},                             // nowhere: the command says so
		{[]string{"apt-get", "install", "-y", "notes"}, nil, "", ""},                            // a package name, not a path
		{[]string{"dpkg", "-i", "/srv/pkgs/x.deb"}, []string{"/srv/pkgs"}, "", ""},
		{[]string{"grub-install", "/dev/sda"}, nil, "", ""}, // the jail's own /dev
		{[]string{"cat", "/proc/cmdline"}, nil, "", ""},
	} {
		h, ok := findHostOnly(tt.argv, tt.depots, "/home/u", has(image), has(host))
		if ok != (tt.want != "") || h.host != tt.want || h.depot != tt.depot {
			t.Errorf("findHostOnly(%q, depots %q) = %+v, %v; want %q (depot %q)", tt.argv, tt.depots, h, ok, tt.want, tt.depot)
		}
	}
	// Without a working directory, relative paths are not judged.
	if h, ok := findHostOnly([]string{"dpkg", "-i", "y.deb"}, nil, "", has(image), has(host)); ok {
		t.Errorf("no cwd: found %+v", h)
	}
}

// dpkg -i of a file on the booted system, without -x depot=, is refused
// before anything runs, with the command line that works; dpkg's bare
// "No such file or directory" in the jail told nothing.
func TestRunInRefusesHostOnlyPath(t *testing.T) {
	image := t.TempDir()
	depot := t.TempDir()
	deb := filepath.Join(depot, "hello.deb")
	if err := os.WriteFile(deb, []byte("!<arch>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		argv []string
		dir  string
		want string
	}{
		{[]string{"dpkg", "-i", deb}, "", deb + " is a file of the booted system; the runcmd environment shows only sysimage_001 (and starts in /), so dpkg would not find it: show its directory read-only at the same path with -x depot=, e.g. drd runcmd -x depot=" + depot + " dpkg -i " + deb + "; nothing was run"},
		{[]string{"apt-get", "install", "-y", "./hello.deb"}, depot, "e.g. drd runcmd -x depot=" + depot + " apt-get install -y " + deb + "; nothing was run"},
	} {
		j := &refusingJailer{t: t}
		opt := Options{Root: "/", Argv: tt.argv, Dir: tt.dir, Jailer: j}
		err := runIn(t.Context(), opt, "sysimage_001", image, "", &Report{}, report.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want an error with %q", tt.argv, err, tt.want)
		}
	}
}

// refusingJailer fails the test if anything is run.
type refusingJailer struct{ t *testing.T }

func (j *refusingJailer) Run(_ context.Context, spec *Spec, _ Stdio, _ report.Reporter) (*Result, error) {
	j.t.Errorf("the jail ran %q", spec.Argv)
	return nil, errors.New("refused")
}

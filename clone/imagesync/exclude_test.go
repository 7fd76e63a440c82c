package imagesync

import (
	"path"
	"slices"
	"strings"
	"testing"
)

func TestParseExcludes(t *testing.T) {
	got, err := ParseExcludes([]byte("# site list\n/srv/cache/\n\n  /var/lib/mysql  \n#/not\n/a//b/./c\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/srv/cache", "/var/lib/mysql", "/a/b/c"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, bad := range []string{"relative/path\n", "/a/../etc\n", "/\n", "/x\x00y\n"} {
		if _, err := ParseExcludes([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzParseExcludes: every path accepted is absolute, clean, not the
// root, and has no .. in it.
func FuzzParseExcludes(f *testing.F) {
	f.Add([]byte("# c\n/srv\n/var/lib/x/\n"))
	f.Add([]byte("/a/../b\nrel\n\n#\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParseExcludes(data)
		if err != nil {
			return
		}
		for _, p := range ps {
			if !path.IsAbs(p) || path.Clean(p) != p || p == "/" || strings.Contains(p, "..") && slices.Contains(strings.Split(p, "/"), "..") {
				t.Fatalf("accepted %q", p)
			}
		}
	})
}

func TestListsEscapeAndShape(t *testing.T) {
	res := &Result{Copied: []string{"/a", "/odd\nname"}, Conflicts: []Conflict{{Path: "/etc/x", Reason: "both"}},
		Packages: []Package{{Name: "nginx", Version: "1.22", Change: "installed"}}}
	res.finish()
	l := Lists(res)
	if got := string(l[CopiedList]); got != "/a\n/odd\\nname\n" {
		t.Errorf("copied.list %q", got)
	}
	if got := string(l[ConflictsList]); got != "/etc/x\tboth\n" {
		t.Errorf("conflicts.list %q", got)
	}
	if got := string(l[PackagesList]); got != "nginx\t1.22\tinstalled\n" {
		t.Errorf("packages.list %q", got)
	}
	if len(l[DeletedList]) != 0 || res.Counts.Copied != 2 || res.Counts.Conflicts != 1 {
		t.Errorf("counts %+v", res.Counts)
	}
}

func TestPackageChanges(t *testing.T) {
	base := map[string]string{"bash:amd64": "5.2-1", "vim:amd64": "9.0-1", "old:all": "1"}
	booted := map[string]string{"bash:amd64": "5.2-2", "vim:amd64": "9.0-1", "nginx:amd64": "1.22", "curl:amd64": "8.0"}
	clone := map[string]string{"bash:amd64": "5.2-1", "vim:amd64": "9.1-1", "old:all": "1", "curl:amd64": "8.0"}
	listed, next := packageChanges(base, booted, clone)
	var names []string
	for _, p := range listed {
		names = append(names, p.Name+" "+p.Version+" "+p.Change)
	}
	want := []string{"bash 5.2-2 upgraded from 5.2-1", "nginx 1.22 installed", "old  removed 1"}
	if !slices.Equal(names, want) {
		t.Errorf("listed %q, want %q", names, want)
	}
	// curl: installed on both sides the same: no longer a difference.
	if next["curl:amd64"] != "8.0" || next["bash:amd64"] != "5.2-1" || next["old:all"] != "1" {
		t.Errorf("next %v", next)
	}
}

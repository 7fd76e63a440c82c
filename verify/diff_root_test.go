package verify

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// makeDeb builds a small package hello-drd 1.0 with two files.
func makeDeb(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	for p, content := range map[string]string{
		"DEBIAN/control":                    "Package: hello-drd\nVersion: 1.0\nArchitecture: all\nMaintainer: drd <drd@example.org>\nDescription: a test package\n",
		"usr/bin/hello-drd":                 "#!/bin/sh\necho hello\n",
		"usr/share/doc/hello-drd/copyright": "public domain\n",
	} {
		full := filepath.Join(src, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	deb := filepath.Join(dir, "hello-drd_1.0_all.deb")
	run(t, "dpkg-deb", "--root-owner-group", "--build", src, deb)
	return deb
}

// TestDiffPackageInstall: two copies of a system do not differ; after a
// package is installed into one (dpkg --root), and a file's mode and
// another's content changed, the diff names the package, its files and
// the changed ones, and not a file only touched.
func TestDiffPackageInstall(t *testing.T) {
	a, b := system(t), system(t)
	ctx := context.Background()
	d, err := Diff(ctx, DiffOptions{A: a, B: b})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.Files.Added) + len(d.Files.Removed) + len(d.Files.Changed) + len(d.Packages.Added) + len(d.Packages.Removed) + len(d.Packages.Upgraded); n != 0 {
		t.Fatalf("two copies differ: %+v", d)
	}
	deb := makeDeb(t)
	run(t, "dpkg", "--root", b, "--force-script-chrootless", "-i", deb)
	if err := os.Chmod(filepath.Join(b, "usr/bin/tac"), 0o700); err != nil {
		t.Fatal(err)
	}
	ver := filepath.Join(b, "etc/debian_version")
	old, _ := os.ReadFile(ver)
	same := make([]byte, len(old))
	for i := range same {
		same[i] = 'x'
	}
	os.WriteFile(ver, same, 0o644)
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(b, "etc/issue"), later, later)

	d, err = Diff(ctx, DiffOptions{A: a, B: b})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Version{{"hello-drd", "1.0"}}; !slices.Equal(d.Packages.Added, want) || len(d.Packages.Removed)+len(d.Packages.Upgraded) != 0 {
		t.Errorf("packages %+v, want %+v added", d.Packages, want)
	}
	for _, p := range []string{"/usr/bin/hello-drd", "/usr/share/doc/hello-drd", "/usr/share/doc/hello-drd/copyright", "/var/lib/dpkg/info/hello-drd.list"} {
		if !slices.Contains(d.Files.Added, p) {
			t.Errorf("%s not among the added files %q", p, d.Files.Added)
		}
	}
	for _, p := range []string{"/usr/bin/tac", "/etc/debian_version", "/var/lib/dpkg/status"} {
		if !slices.Contains(d.Files.Changed, p) {
			t.Errorf("%s not among the changed files %q", p, d.Files.Changed)
		}
	}
	if slices.Contains(d.Files.Changed, "/etc/issue") || len(d.Files.Removed) != 0 {
		t.Errorf("changed %q, removed %q", d.Files.Changed, d.Files.Removed)
	}
	sum := Summarize(d.Files)
	if !slices.ContainsFunc(sum, func(s Summary) bool { return s.Dir == "/usr" && s.Added >= 3 && s.Changed == 1 }) {
		t.Errorf("summary %+v", sum)
	}
}

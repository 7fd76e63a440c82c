package runcmd

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/drd-linux/drd/verify"
)

// TestDiffAfterRuncmd: drd diff of the booted image and its clone names
// what a real drd runcmd installed in the clone (the jail, dpkg inside
// it): the package, added, and its files, which the clone did not have
// before the command.
func TestDiffAfterRuncmd(t *testing.T) {
	ctx := context.Background()
	s := clonedMinbase(t, ctx)
	diff := func() *verify.Difference {
		t.Helper()
		var d *verify.Difference
		inImage(t, s.Root, func(dir string) {
			var err error
			if d, err = verify.Diff(ctx, verify.DiffOptions{A: s.Root, B: dir}); err != nil {
				t.Fatal(err)
			}
		})
		return d
	}
	before := diff()
	if len(before.Packages.Added)+len(before.Packages.Removed)+len(before.Packages.Upgraded) != 0 {
		t.Fatalf("a fresh clone differs in packages: %+v", before.Packages)
	}
	depot := t.TempDir()
	os.Chmod(depot, 0o755)
	deb := makeDeb(t, depot, "drd-diffed", "", nil, map[string]string{"/usr/bin/drd-diffed": "#!/bin/sh\necho diffed\n"})
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	exe, _ := os.Executable()
	err = Run(ctx, Options{Root: s.Root, Image: cloneName(t, ctx, s.Root), Argv: []string{"dpkg", "-i", deb}, Depots: []string{depot}, Exe: exe, Stdio: Stdio{Out: out, Err: out}}, &recorder{t: t})
	if err != nil {
		data, _ := os.ReadFile(out.Name())
		t.Fatalf("drd runcmd dpkg -i: %v\n%s", err, data)
	}
	after := diff()
	if want := (verify.Version{Name: "drd-diffed", Version: "1.0-1"}); !slices.Contains(after.Packages.Added, want) {
		t.Errorf("packages added %+v, want %+v", after.Packages.Added, want)
	}
	for _, p := range []string{"/usr/bin/drd-diffed", "/var/lib/dpkg/info/drd-diffed.list"} {
		if slices.Contains(before.Files.Added, p) || !slices.Contains(after.Files.Added, p) {
			t.Errorf("%s: added before the command %v, after %v", p, slices.Contains(before.Files.Added, p), slices.Contains(after.Files.Added, p))
		}
	}
	if !slices.Contains(after.Files.Changed, "/var/lib/dpkg/status") {
		t.Errorf("dpkg's status is not among the changed files %q", after.Files.Changed)
	}
}

package verify

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/drd-linux/drd/internal/minbase"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: a debootstrap tree with files of every owner")
	}
}

// system unpacks the cached minbase system into a directory of the test.
func system(t *testing.T) string {
	t.Helper()
	requireRoot(t)
	dir, err := os.MkdirTemp("/var/tmp", "drd-verify-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := minbase.Default.Unpack(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func run(t *testing.T, argv ...string) {
	t.Helper()
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%q: %v\n%s", argv, err, out)
	}
}

func verifyRoot(t *testing.T, root string) *Result {
	t.Helper()
	res, err := Verify(context.Background(), Options{Root: root, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Skipped {
		t.Errorf("not checked: %+v", s)
	}
	return res
}

// TestVerifyMinbase is the proof of drd verify on a Debian system: a
// pristine one has nothing missing, modified or unknown; each change
// made to it is found, with its kind, and nothing else; a baseline hides
// them while a new change shows.
func TestVerifyMinbase(t *testing.T) {
	root := system(t)
	pristine := verifyRoot(t, root)
	t.Logf("%d packages, %d files, %d bytes", pristine.Packages, pristine.Files, pristine.Bytes)
	if pristine.Files < 3000 {
		t.Errorf("only %d files checked", pristine.Files)
	}
	for _, f := range pristine.Findings {
		if f.Kind != Diverted { // dash diverts /bin/sh
			t.Errorf("pristine system: %+v", f)
		}
	}
	p := func(rel string) string { return filepath.Join(root, rel) }
	write := func(rel, text string, perm os.FileMode) {
		if err := os.WriteFile(p(rel), []byte(text), perm); err != nil {
			t.Fatal(err)
		}
	}
	appendTo := func(rel, text string) {
		f, err := os.OpenFile(p(rel), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(text)
		f.Close()
	}
	appendTo("usr/bin/tac", "x")
	if err := os.Remove(p("usr/bin/tail")); err != nil {
		t.Fatal(err)
	}
	write("usr/local/bin/tool", "#!/bin/sh\n", 0o755)
	write("usr/bin/stray", "\x7fELF", 0o755)
	appendTo("etc/login.defs", "\nUMASK 077\n")
	run(t, "dpkg-divert", "--root", root, "--local", "--rename", "--divert", "/usr/bin/dircolors.orig", "--add", "/usr/bin/dircolors")
	write("usr/bin/dircolors", "#!/bin/sh\necho mine\n", 0o755)

	changed := verifyRoot(t, root)
	fresh, known := Split(changed.Findings, &Baseline{Findings: pristine.Findings})
	want := []Finding{
		{"/etc/login.defs", Conffile, "login"},
		{"/usr/bin/dircolors", Diverted, ""},
		{"/usr/bin/stray", Unknown, ""},
		{"/usr/bin/tac", Modified, "coreutils"},
		{"/usr/bin/tail", Missing, "coreutils"},
		{"/usr/local/bin/tool", Unknown, ""},
	}
	if !slices.Equal(fresh, want) {
		t.Errorf("findings:\n got %+v\nwant %+v", fresh, want)
	}
	if len(known) != len(pristine.Findings) {
		t.Errorf("baseline findings %+v, want %+v", known, pristine.Findings)
	}

	if err := WriteBaseline(root, &Baseline{User: "test", Findings: changed.Findings}); err != nil {
		t.Fatal(err)
	}
	base, err := ReadBaseline(root)
	if err != nil {
		t.Fatal(err)
	}
	appendTo("usr/bin/head", "y")
	later := verifyRoot(t, root)
	fresh, known = Split(later.Findings, base)
	if want := []Finding{{"/usr/bin/head", Modified, "coreutils"}}; !slices.Equal(fresh, want) {
		t.Errorf("after the baseline:\n got %+v\nwant %+v", fresh, want)
	}
	if len(known) != len(changed.Findings) {
		t.Errorf("%d findings of the baseline, want %d", len(known), len(changed.Findings))
	}
	// The baseline itself is drd's file: not unknown.
	for _, f := range later.Findings {
		if f.Path == BaselinePath {
			t.Errorf("the baseline is a finding: %+v", f)
		}
	}
}

package efi

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOnlyCmdNamesTheHost keeps the firmware of the machine that runs
// the tests out of every test: only the non-test files of cmd/ may name
// the host's efivarfs (HostVarDir, or its path, also joined to a sys
// directory: "firmware/efi"), so a library function, its root tests, and
// the command tests (through their fake system) can write no variable
// but a DirVars'. The exceptions: this package (it
// defines the constant and tests that its stores refuse it), safety/
// (patterns of commands that write it, never opened) and scripts/e2e (the
// shell of its VM guests).
func TestOnlyCmdNamesTheHost(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no module root at %s: %v", root, err)
	}
	var bad []string
	seen := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if rel == "scripts/e2e" || strings.HasPrefix(d.Name(), ".") && rel != "." || d.Name() == "testdata" || d.Name() == "build" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || filepath.Dir(rel) == "bootenv/efi" {
			return nil
		}
		seen++
		if strings.HasPrefix(rel, "cmd/") && !strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range []string{"HostVarDir", "firmware/efi", "OpenVarFS("} {
			if strings.Contains(string(b), s) && !(s == "firmware/efi" && filepath.Dir(rel) == "safety") {
				bad = append(bad, rel+" names "+s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 50 {
		t.Fatalf("walked %d Go files of %s: not the module", seen, root)
	}
	for _, b := range bad {
		t.Errorf("%s: only cmd/ wires the real machine's UEFI variables; take an efi.Vars (tests: efi.NewDirVars(t.TempDir()))", b)
	}
}

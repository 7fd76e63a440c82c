package srccheck

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// undocumented walks the Go source under root (not testdata, build or
// hidden directories) and returns the directories whose package has no doc
// comment: a library package needs one that starts "Package NAME", a
// command (package main) any.
func undocumented(root string) ([]string, error) {
	var bad []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != root && (name == "testdata" || name == "build" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		files, err := filepath.Glob(filepath.Join(path, "*.go"))
		if err != nil {
			return err
		}
		pkg, documented := "", false
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				return err
			}
			pkg = af.Name.Name
			if af.Doc == nil {
				continue
			}
			text := af.Doc.Text()
			if pkg == "main" && text != "" || strings.HasPrefix(text, "Package "+pkg+" ") {
				documented = true
			}
		}
		if pkg != "" && !documented {
			rel, _ := filepath.Rel(root, path)
			bad = append(bad, rel)
		}
		return nil
	})
	return bad, err
}

// TestEveryPackageHasDocComment checks drd's tree.
func TestEveryPackageHasDocComment(t *testing.T) {
	bad, err := undocumented("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range bad {
		t.Errorf("package in %s has no doc comment (// Package NAME ... above the package clause of one file, or // Command NAME ... for a command)", dir)
	}
}

// TestUndocumentedFindsMissingDocComments checks the checker on a tree
// with every case.
func TestUndocumentedFindsMissingDocComments(t *testing.T) {
	root := t.TempDir()
	for name, src := range map[string]string{
		"good/a.go":             "// Package good is.\npackage good\n",
		"good/b.go":             "package good\n",
		"none/a.go":             "package none\n",
		"detached/a.go":         "// Package detached is.\n\npackage detached\n",
		"wrongname/a.go":        "// Package other is.\npackage wrongname\n",
		"onlytest/a_test.go":    "// Package onlytest is.\npackage onlytest\n",
		"testonlydoc/a.go":      "package testonlydoc\n",
		"testonlydoc/a_test.go": "// Package testonlydoc is.\npackage testonlydoc\n",
		"cmd/tool/main.go":      "// Command tool does.\npackage main\n",
		"cmd/bare/main.go":      "package main\n",
		"x/testdata/a.go":       "package broken\n",
		".hidden/a.go":          "package hidden\n",
	} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bad, err := undocumented(root)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(bad)
	want := []string{"cmd/bare", "detached", "none", "testonlydoc", "wrongname"}
	if !slices.Equal(bad, want) {
		t.Errorf("undocumented = %q, want %q", bad, want)
	}
}

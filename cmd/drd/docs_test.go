package main

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
)

// TestDocsNameEveryJSONField keeps docs/cli.md in step with the JSON of
// drd status --json: every field of bootenv.Status, at any depth, must be
// named there as `field`.
func TestDocsNameEveryJSONField(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] || typ.PkgPath() != reflect.TypeFor[bootenv.Status]().PkgPath() {
			return
		}
		seen[typ] = true
		for f := range typ.Fields() {
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			if !strings.Contains(string(doc), "`"+name+"`") {
				t.Errorf("docs/cli.md does not name the JSON field %s.%s (`%s`)", typ.Name(), f.Name, name)
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[bootenv.Status]())
	if len(seen) < 4 {
		t.Errorf("walked only %d types", len(seen))
	}
}

// TestDocsListCommands checks that docs/cli.md has a section for every
// command and names every extended option.
func TestDocsListCommands(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	var all []*command
	for _, c := range sortedCommands() {
		all = append(append(all, c), c.subcommands...)
	}
	for _, c := range all {
		if !strings.Contains(string(doc), "`drd "+c.name) {
			t.Errorf("docs/cli.md does not mention drd %s", c.name)
		}
		for _, s := range c.options {
			if !strings.Contains(string(doc), "| `"+s.Name+"` | "+s.Type.String()+" |") {
				t.Errorf("docs/cli.md does not list -x %s (%v) of drd %s", s.Name, s.Type, c.name)
			}
		}
	}
}

// TestDocsListLockAndPreview keeps the lists of docs/cli.md true: the
// commands that take the lock (section "The lock") and the ones that
// accept -p (the -p row), against the commands as declared.
func TestDocsListLockAndPreview(t *testing.T) {
	b, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	lockSection := between(t, doc, "## The lock\n", "\n## ")
	pRow := between(t, doc, "| `-p` |", "\n")
	var all []*command
	for _, c := range sortedCommands() {
		all = append(append(all, c), c.subcommands...)
	}
	locking, previewing := 0, 0
	for _, c := range all {
		name := "`" + c.name + "`"
		if c.locks {
			locking++
			if !strings.Contains(lockSection, name) {
				t.Errorf("docs/cli.md, The lock: does not list %s, which takes the lock", name)
			}
		} else if strings.Contains(lockSection, name+",") || strings.Contains(lockSection, name+" and") {
			t.Errorf("docs/cli.md, The lock: lists %s, which takes no lock", name)
		}
		if c.preview {
			previewing++
			if !strings.Contains(pRow, name) {
				t.Errorf("docs/cli.md, the -p row: does not name %s, which accepts -p", name)
			}
		} else if strings.Contains(pRow, name) {
			t.Errorf("docs/cli.md, the -p row: names %s, which has no -p", name)
		}
	}
	if locking < 3 || previewing < 2 {
		t.Errorf("only %d locking and %d previewing commands: is the registry empty?", locking, previewing)
	}
}

// between returns the text of doc from start to the next end after it.
func between(t *testing.T, doc, start, end string) string {
	t.Helper()
	_, after, ok := strings.Cut(doc, start)
	if !ok {
		t.Fatalf("docs/cli.md has no %q", start)
	}
	s, _, _ := strings.Cut(after, end)
	return s
}

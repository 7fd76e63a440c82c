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

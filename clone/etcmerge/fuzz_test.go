package etcmerge

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func checkMergeProperties(t *testing.T, f func(base, clone, booted []byte) ([]byte, error), base, x []byte) {
	t.Helper()
	if got, err := f(base, base, x); err != nil || !bytes.Equal(got, x) {
		t.Fatalf("merge(base, base, x) = %q, %v; want x = %q", got, err, x)
	}
	if got, err := f(base, x, x); err != nil || !bytes.Equal(got, x) {
		t.Fatalf("merge(base, x, x) = %q, %v; want x = %q", got, err, x)
	}
}

func FuzzLines(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), []byte("A\nb\nc\n"), []byte("a\nb\nC\n"))
	f.Add([]byte("a\nb\nc"), []byte("a\nc"), []byte("x\na\nb\nc\ny"))
	f.Add([]byte(""), []byte("a\n"), []byte("b\n"))
	f.Add([]byte("a\na\na\n"), []byte("a\n"), []byte("a\nb\na\na\n"))
	f.Fuzz(func(t *testing.T, base, clone, booted []byte) {
		checkMergeProperties(t, Lines, base, clone)
		checkMergeProperties(t, Lines, base, booted)
		got, err := Lines(base, clone, booted)
		var c *Conflict
		if err != nil && !errors.As(err, &c) {
			t.Fatalf("Lines: %v is no *Conflict", err)
		}
		if err != nil {
			return
		}
		// Every line of the result is a line of one of the three.
		all := string(base) + "\n" + string(clone) + "\n" + string(booted)
		for _, l := range splitLines(got) {
			if !strings.Contains(all, l) {
				t.Fatalf("Lines made up the line %q", l)
			}
		}
		// The merge is symmetric in its sides, up to order.
		swapped, err := Lines(base, booted, clone)
		if err != nil || len(swapped) != len(got) {
			t.Fatalf("Lines with the sides swapped = %q, %v; was %q", swapped, err, got)
		}
	})
}

// same tells whether x and y have the same version of the entry key (or
// both none).
func same(x, y entries, key string) bool {
	lx, okx := x.lines[key]
	ly, oky := y.lines[key]
	return okx == oky && lx == ly
}

func str(s *string) string {
	if s == nil {
		return "(none)"
	}
	return *s
}

func FuzzAccounts(f *testing.F) {
	f.Add("passwd", basePasswd, append(bytes.Clone(basePasswd), "a:x:7:7::/:/bin/sh\n"...), append(bytes.Clone(basePasswd), "b:x:7:7::/:/bin/sh\n"...))
	f.Add("group", baseGroup, []byte("root:x:0:\nsudo:x:27:bob,a\n"), []byte("sudo:x:27:c\nusers:x:100:\n"))
	f.Add("gshadow", []byte("g:!:a:b\n"), []byte("g:!:a,c:b\n"), []byte("g:!::b,d\n"))
	f.Add("subuid", []byte("a:1:2\n"), []byte("a:1:2\nb:3:4\n"), []byte(""))
	f.Add("shadow", []byte("#c\n\na:x\n"), []byte("a:x\na:y\n"), []byte(":\n::\n"))
	f.Fuzz(func(t *testing.T, name string, base, clone, booted []byte) {
		k, ok := kinds[name]
		if !ok {
			return
		}
		f := func(o, a, b []byte) ([]byte, error) { return Accounts(name, o, a, b) }
		checkMergeProperties(t, f, base, clone)
		checkMergeProperties(t, f, base, booted)
		got, err := Accounts(name, base, clone, booted)
		var c *Conflict
		if err != nil && !errors.As(err, &c) {
			t.Fatalf("Accounts: %v is no *Conflict", err)
		}
		if err != nil || bytes.Equal(base, clone) || bytes.Equal(base, booted) || bytes.Equal(clone, booted) {
			return
		}
		// Each entry parses back with the fields of an input entry of its key.
		o, a, b := parseEntries(k, base), parseEntries(k, clone), parseEntries(k, booted)
		in := []entries{o, a, b}
		m, _ := k.merge(o, a, b)
		out := entries{lines: map[string]string{}}
		var text strings.Builder
		for _, e := range m {
			out.order = append(out.order, e.key)
			out.lines[e.key] = e.line
			text.WriteString(e.line + "\n")
		}
		if text.String() != string(got) {
			t.Fatalf("Accounts = %q, its entries say %q", got, text.String())
		}
		// An entry one side left as it was takes the other side's version.
		for _, key := range append(append(slices.Clone(o.order), a.order...), b.order...) {
			for _, s := range [][2]entries{{a, b}, {b, a}} {
				if same(s[0], o, key) && !same(out, s[1], key) {
					t.Fatalf("entry %q: one side left it as it was, the merge has %q, not the other side's %q",
						key, str(out.at(key)), str(s[1].at(key)))
				}
			}
		}
		for _, key := range out.order {
			n := strings.Count(out.lines[key], ":")
			found := false
			for _, e := range in {
				if l, ok := e.lines[key]; ok && strings.Count(l, ":") == n {
					found = true
				}
			}
			if !found {
				t.Fatalf("Accounts made the entry %q, whose fields no input entry of its key has", out.lines[key])
			}
		}
	})
}

package main

import (
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/lock"
)

// The packaged unit runs drd boot-check -x managed_only=true: on a system
// drd has no record of, the pass does nothing; once drd clone wrote the
// record (beneath a separate /var or not), it runs.
func TestBootCheckManagedOnly(t *testing.T) {
	root := t.TempDir()
	f := &fake{}
	if code, _, stderr := drd(t, f, root, "boot-check", "-x", "managed_only=true"); code != 0 || len(f.roots) != 0 {
		t.Fatalf("no record: exit %d, boot check ran %d times\n%s", code, len(f.roots), stderr)
	}
	if err := bootenv.WriteRecord(root, &bootenv.Record{Name: "sysimage_000", ID: "x"}); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := drd(t, f, root, "boot-check", "-x", "managed_only=true"); code != 0 || len(f.roots) != 1 {
		t.Fatalf("a record: exit %d, boot check ran %d times\n%s", code, len(f.roots), stderr)
	}
	f = &fake{}
	if drd(t, f, t.TempDir(), "boot-check"); len(f.roots) != 1 {
		t.Errorf("without managed_only the pass runs whatever: %d", len(f.roots))
	}
}

func TestIsBootCheck(t *testing.T) {
	for cmd, want := range map[string]bool{
		"/usr/lib/drd/drd boot-check":                   true,
		"/usr/sbin/drd boot-check -x managed_only=true": true,
		"drd boot-check":                                true,
		"drd clone -t /dev/vdb":                         false,
		"drd runcmd sh -c boot-check":                   false,
		"/usr/bin/evil boot-check":                      false,
		"":                                              false,
	} {
		if got := isBootCheck(lock.Holder{Command: cmd}); got != want {
			t.Errorf("isBootCheck(%q) = %v, want %v", cmd, got, want)
		}
	}
}

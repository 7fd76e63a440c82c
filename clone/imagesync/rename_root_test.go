package imagesync

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSyncDirectoryRenames: a directory renamed on the booted side (the
// same inode at a new path, in the same parent or another, new one) is
// renamed in the clone, its tree not copied anew, when nothing below it
// changed on either side; otherwise its entries are copied as before and
// the clone's own entries stay. The manifest follows the moved entries:
// the next sync with no change does nothing, a change below the new name
// is copied alone.
func TestSyncDirectoryRenames(t *testing.T) {
	p := newPair(t, func(root string) {
		fillTree(t)(root)
		sh(t, root, `
			mkdir -p srv/data/sub/deeper srv/empty var/lib/app/cache changed cloneadd
			for i in 1 2 3 4 5; do echo "file $i" > srv/data/f$i; echo "sub $i" > srv/data/sub/s$i; done
			echo deep > srv/data/sub/deeper/d; ln srv/data/f1 srv/data/sub/f1-link; ln -s f2 srv/data/link
			setfattr -n user.tag -v data srv/data/sub; chmod 0750 srv/data/sub/deeper
			echo cached > var/lib/app/cache/c1
			echo before > changed/f; echo other > changed/g
			echo mine > cloneadd/f`)
	})
	p.same()
	ino := func(rel string) uint64 { return inode(t, filepath.Join(p.clone, rel)) }
	data, sub, f3, deeper, cache := ino("srv/data"), ino("srv/data/sub"), ino("srv/data/f3"), ino("srv/data/sub/deeper/d"), ino("var/lib/app/cache")
	changed, cloneadd := ino("changed"), ino("cloneadd")
	// The clone's own entry in a directory the booted side renames.
	if err := os.WriteFile(filepath.Join(p.clone, "cloneadd/clone-only"), []byte("clone\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sh(t, p.booted, `
		mv srv/data srv/data.old                       # renamed in its parent
		mkdir -p var/lib/new && mv var/lib/app/cache var/lib/new/cache2   # to a new parent
		mv srv/empty srv/empty2                        # an empty directory
		mv changed changed2 && echo after >> changed2/f # renamed, and a file below changed
		mv cloneadd cloneadd2                          # renamed; the clone added an entry in it
	`)
	res := p.sync(false)
	p.same("/cloneadd", "/cloneadd/clone-only")

	for _, c := range []struct {
		rel  string
		was  uint64
		what string
	}{
		{"srv/data.old", data, "the renamed directory"},
		{"srv/data.old/sub", sub, "a directory below it"},
		{"srv/data.old/f3", f3, "a file below it"},
		{"srv/data.old/sub/deeper/d", deeper, "a file two levels below"},
		{"var/lib/new/cache2", cache, "the directory moved to a new parent"},
	} {
		if got := ino(c.rel); got != c.was {
			t.Errorf("%s (%s) was copied anew (inode %d), not renamed (inode %d)", c.what, c.rel, got, c.was)
		}
	}
	if ino("changed2") == changed {
		t.Error("changed2 was renamed though a file below it changed on the booted side")
	}
	if ino("cloneadd2") == cloneadd {
		t.Error("cloneadd2 was renamed though the clone added an entry in it")
	}
	if got := read(t, filepath.Join(p.clone, "cloneadd/clone-only")); got != "clone\n" {
		t.Errorf("the clone's own entry: %q", got)
	}
	for _, rel := range []string{"/srv/data.old", "/var/lib/new/cache2", "/srv/empty2"} {
		if !slices.Contains(res.Copied, rel) {
			t.Errorf("%s not in copied: %v", rel, res.Copied)
		}
	}
	for _, rel := range []string{"/srv/data", "/var/lib/app/cache", "/srv/empty", "/changed", "/changed/f"} {
		if !slices.Contains(res.Deleted, rel) {
			t.Errorf("%s not in deleted: %v", rel, res.Deleted)
		}
	}
	for _, rel := range append(res.Copied, res.Deleted...) {
		if strings.HasPrefix(rel, "/srv/data/") || strings.HasPrefix(rel, "/srv/data.old/") || strings.HasPrefix(rel, "/var/lib/new/cache2/") {
			t.Errorf("%s was listed: the entries below a renamed directory move with it", rel)
		}
	}
	if !slices.Contains(res.Copied, "/changed2/f") || !slices.Contains(res.Copied, "/cloneadd2/f") {
		t.Errorf("the entries of the directories not renamed were not copied: %v", res.Copied)
	}
	if len(res.Conflicts) != 1 || res.Conflicts[0].Path != "/cloneadd" {
		t.Errorf("conflicts %v, want /cloneadd alone (the clone added an entry in it)", res.Conflicts)
	}

	// The manifest follows: nothing new, nothing done; a change below the
	// new name is copied alone.
	again := p.sync(false)
	if len(again.Copied)+len(again.Deleted) != 0 {
		t.Errorf("a sync with no change did work: copied %v deleted %v", again.Copied, again.Deleted)
	}
	sh(t, p.booted, `echo more >> srv/data.old/sub/s2; chmod 0700 var/lib/new/cache2/c1`)
	third := p.sync(false)
	p.same("/cloneadd", "/cloneadd/clone-only")
	if want := []string{"/srv/data.old/sub/s2", "/var/lib/new/cache2/c1"}; !slices.Equal(third.Copied, want) {
		t.Errorf("third sync copied %v, want %v", third.Copied, want)
	}
}

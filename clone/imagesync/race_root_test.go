package imagesync

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestSyncRaceSwapsNeverWriteOutside: a local user of the booted system
// swaps files for links (to a secret file and to a directory outside the
// clone) and for directories while syncs run, and the clone holds a link
// planted where the booted image has a directory. No write lands outside
// the clone, no secret is copied through a link, and every swapped entry
// ends up in the clone as it was or as it is.
func TestSyncRaceSwapsNeverWriteOutside(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("TOP SECRET\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(outside, "victim")
	os.Mkdir(victim, 0o755)
	p := newPair(t, func(root string) {
		sh(t, root, `mkdir -p race planted tmp var/tmp
			for i in $(seq 0 49); do echo "file $i" > race/f$i; chown 1000:1000 race/f$i; done`)
	})
	// The clone's /planted is a link out (a package script could do that).
	rootFi, _ := os.Stat(p.clone)
	os.Remove(filepath.Join(p.clone, "planted"))
	if err := os.Symlink(victim, filepath.Join(p.clone, "planted")); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p.clone, rootFi.ModTime(), rootFi.ModTime()) // the link is the only change
	sh(t, p.booted, `for i in $(seq 0 9); do echo new > planted/n$i; done`)

	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for n := 0; !stop.Load(); n++ {
			i := n % 50
			f := filepath.Join(p.booted, "race", fmt.Sprintf("f%d", i))
			tmp := f + ".tmp"
			switch n % 3 {
			case 0:
				os.Symlink(secret, tmp)
				os.Rename(tmp, f) // a file swapped for a link, atomically
			case 1:
				os.Symlink(victim, tmp)
				os.Rename(tmp, f)
			case 2:
				os.Mkdir(tmp, 0o755)
				os.WriteFile(filepath.Join(tmp, "inside"), []byte("inside\n"), 0o644)
				os.Remove(f)
				os.Rename(tmp, f) // a file swapped for a directory
			}
			os.RemoveAll(tmp)
			os.RemoveAll(f)
			os.WriteFile(f, []byte(fmt.Sprintf("file %d\n", i)), 0o644)
		}
	})
	for range 8 {
		res := p.sync(false)
		if !slices.ContainsFunc(res.Conflicts, func(c Conflict) bool { return strings.HasPrefix(c.Path, "/planted/") }) {
			t.Errorf("writes under the clone's planted link: no conflict listed (%v)", res.Conflicts)
		}
	}
	stop.Store(true)
	wg.Wait()

	ents, _ := os.ReadDir(victim)
	if len(ents) != 0 {
		t.Errorf("the sync wrote outside the clone: %v", ents)
	}
	if b, _ := os.ReadFile(secret); string(b) != "TOP SECRET\n" {
		t.Errorf("the secret changed: %q", b)
	}
	filepath.Walk(p.clone, func(path string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("TOP SECRET")) {
			t.Errorf("%s holds the secret: a link was followed", path)
		}
		return nil
	})
	for i := range 50 {
		f := filepath.Join(p.clone, "race", fmt.Sprintf("f%d", i))
		fi, err := os.Lstat(f)
		if err != nil {
			continue // deleted as it was at some point: as it was then
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			if target, _ := os.Readlink(f); target != secret && target != victim {
				t.Errorf("%s: link to %q", f, target)
			}
		case fi.Mode().IsRegular():
			// empty: caught between the user's create and write
			if b, _ := os.ReadFile(f); len(b) > 0 && string(b) != fmt.Sprintf("file %d\n", i) {
				t.Errorf("%s: %q", f, b)
			}
		case !fi.IsDir():
			t.Errorf("%s: %v", f, fi.Mode())
		}
	}
	// Quiet again: one more sync makes the clone equal.
	p.sync(false)
	p.same("/planted")
}

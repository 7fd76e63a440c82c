package imagesync

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/clone/copyfs"
	"github.com/drd-linux/drd/pkgdb"
)

// Result is what a sync did (or, previewed, would do): the decision
// lists, by image path.
type Result struct {
	Image     string     `json:"image"`
	Copied    []string   `json:"copied"`
	Deleted   []string   `json:"deleted"`
	Merged    []string   `json:"merged"`
	Conflicts []Conflict `json:"conflicts"`
	Excluded  []string   `json:"excluded"`
	Packages  []Package  `json:"packages"`
	Counts    Counts     `json:"counts"`
	// Notes are things the administrator should know: entries that
	// changed while the sync walked them (the next sync takes them).
	Notes []string `json:"-"`
}

// Conflict is an entry the sync left as the clone has it.
type Conflict struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Package is a package changed on the booted image since the clone (and
// not the same in the clone): its files were not synced.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"` // on the booted image; "" when removed there
	Change  string `json:"change"`  // installed, upgraded (from → to), removed
}

// Counts are the lengths of the lists, and the work.
type Counts struct {
	Copied    int   `json:"copied"`
	Deleted   int   `json:"deleted"`
	Merged    int   `json:"merged"`
	Conflicts int   `json:"conflicts"`
	Excluded  int   `json:"excluded"`
	Packages  int   `json:"packages"`
	Checked   int   `json:"checked"` // booted entries examined
	Bytes     int64 `json:"bytes"`   // data copied
}

func (r *Result) copied(p string)  { r.Copied = append(r.Copied, p) }
func (r *Result) deleted(p string) { r.Deleted = append(r.Deleted, p) }
func (r *Result) merged(p string)  { r.Merged = append(r.Merged, p) }
func (r *Result) conflict(p, why string) {
	r.Conflicts = append(r.Conflicts, Conflict{Path: p, Reason: why})
}

// Clean tells whether everything was synced: no conflict, no package
// left out.
func (r *Result) Clean() bool { return len(r.Conflicts) == 0 && len(r.Packages) == 0 }

// finish sorts the lists and counts them.
func (r *Result) finish() {
	for _, l := range [][]string{r.Copied, r.Deleted, r.Merged, r.Excluded} {
		sort.Strings(l)
	}
	r.Excluded = dedup(r.Excluded)
	sort.Slice(r.Conflicts, func(i, j int) bool { return r.Conflicts[i].Path < r.Conflicts[j].Path })
	sort.Slice(r.Packages, func(i, j int) bool { return r.Packages[i].Name < r.Packages[j].Name })
	for _, l := range []*[]string{&r.Copied, &r.Deleted, &r.Merged, &r.Excluded} {
		if *l == nil {
			*l = []string{}
		}
	}
	if r.Conflicts == nil {
		r.Conflicts = []Conflict{}
	}
	if r.Packages == nil {
		r.Packages = []Package{}
	}
	r.Counts.Copied, r.Counts.Deleted, r.Counts.Merged = len(r.Copied), len(r.Deleted), len(r.Merged)
	r.Counts.Conflicts, r.Counts.Excluded, r.Counts.Packages = len(r.Conflicts), len(r.Excluded), len(r.Packages)
}

func dedup(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// Tree is one file system to sync: where the booted image's is (a
// read-only view of that file system alone) and where the clone's is.
type Tree struct {
	MountPoint string
	Booted     string
	Clone      string
}

// treeOptions are what a sync of one file system needs besides its trees.
type treeOptions struct {
	prune, excluded []string // relative to the file system
	skipPkg         func(image string) bool
	preview         bool
	logf            func(string, ...any) // nil: no notes
}

// SyncTree syncs one file system mounted at both ends as Run does, with
// the paths prune (relative to it) left out, and returns its new manifest
// entries: for benchmarks and tools that mount on their own.
func SyncTree(ctx context.Context, t Tree, old *FS, etc map[string][]byte, prune []string, res *Result) ([]Entry, error) {
	entries, err := syncTree(ctx, t, old, etc, treeOptions{prune: prune, excluded: prune}, res)
	res.finish()
	return entries, err
}

// syncTree syncs one file system and returns its new manifest entries.
func syncTree(ctx context.Context, t Tree, old *FS, etc map[string][]byte, o treeOptions, res *Result) ([]Entry, error) {
	s := &fsSync{
		ctx: ctx, mp: t.MountPoint, src: t.Booted, dst: t.Clone, old: old, etc: etc,
		prune: newPruneSet(o.prune), excluded: newPruneSet(o.excluded), skipPkg: o.skipPkg,
		preview: o.preview, logf: o.logf,
	}
	var err error
	if s.srcFd, err = unix.Open(t.Booted, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
		return nil, fmt.Errorf("opening %s of the booted image (%s): %w", t.MountPoint, t.Booted, err)
	}
	defer unix.Close(s.srcFd)
	if s.dstFd, err = unix.Open(t.Clone, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
		return nil, fmt.Errorf("opening %s of the clone (%s): %w", t.MountPoint, t.Clone, err)
	}
	defer unix.Close(s.dstFd)
	if err := s.walk(); err != nil {
		return nil, err
	}
	res.Counts.Checked += len(s.booted) + 1
	res.Excluded = append(res.Excluded, s.excl...)
	for rel := range s.changedDirs {
		res.Notes = append(res.Notes, s.image(rel)+" changed while the sync walked it: the next sync takes it")
	}
	s.plan()
	if o.preview {
		s.report(res)
		return nil, nil
	}
	x, err := copyfs.OpenEntries(ctx, t.Booted, t.Clone, o.logf)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	if err := s.apply(x, res); err != nil {
		return nil, fmt.Errorf("syncing %s: %w", t.MountPoint, err)
	}
	res.Counts.Bytes += x.Stats().Bytes
	if err := copyfs.SyncFS(t.Clone); err != nil {
		return nil, err
	}
	return s.manifest()
}

// report fills the lists of a preview from the decisions (merges are
// worked out, not written).
func (s *fsSync) report(res *Result) {
	for _, d := range s.decisions {
		switch d.op {
		case opCopy, opMeta:
			res.copied(s.image(d.rel))
		case opRename:
			res.copied(s.image(d.rel))
			res.deleted(s.image(d.from))
		case opDelete:
			res.deleted(s.image(d.rel))
		case opMerge:
			if err := s.merge(nil, d, res); err != nil || d.op == opConflict {
				res.conflict(s.image(d.rel), d.reason)
			}
		case opConflict:
			res.conflict(s.image(d.rel), d.reason)
		}
	}
}

// packageChanges lists the packages the booted image changed since the
// manifest (base) that the clone does not have the same way, and the
// packages whose state the next manifest records.
func packageChanges(base, booted, clone pkgdb.Packages) (listed []Package, next map[string]string) {
	next = map[string]string{}
	for k, v := range base {
		next[k] = v
	}
	for _, c := range pkgdb.Diff(base, booted) {
		key := c.Package
		if !strings.Contains(key, ":") {
			key = findKey(c.Package, base, booted)
		}
		if booted[key] == clone[key] {
			if booted[key] == "" {
				delete(next, key)
			} else {
				next[key] = booted[key]
			}
			continue
		}
		p := Package{Name: c.Package, Version: c.To}
		switch {
		case c.From == "":
			p.Change = "installed"
		case c.To == "":
			p.Change = "removed " + c.From
		default:
			p.Change = "upgraded from " + c.From
		}
		listed = append(listed, p)
	}
	return listed, next
}

// findKey finds the name:arch key of a package named without its
// architecture by pkgdb.Diff.
func findKey(name string, lists ...pkgdb.Packages) string {
	for _, l := range lists {
		for k := range l {
			if n, _, _ := strings.Cut(k, ":"); n == name {
				return k
			}
		}
	}
	return name
}

package treecmp

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// compareTrees reports the differences of two scanned trees.
func compareTrees(a, b *tree, opt Options) ([]Diff, error) {
	var diffs []Diff
	var files []string // regular files in both, of equal size: content to compare
	for _, p := range unionPaths(a, b) {
		ea, eb := a.entries[p], b.entries[p]
		switch {
		case eb == nil:
			if bothDirs(a, b, path.Dir(p)) {
				diffs = append(diffs, Diff{Path: p, What: "only in a", A: describe(ea)})
			}
			continue
		case ea == nil:
			if bothDirs(a, b, path.Dir(p)) {
				diffs = append(diffs, Diff{Path: p, What: "only in b", B: describe(eb)})
			}
			continue
		}
		d, sameSize := compareEntry(p, ea, eb, opt)
		diffs = append(diffs, d...)
		if sameSize {
			files = append(files, p)
		}
	}
	diffs = append(diffs, compareLinks(a, b)...)
	cd, err := compareContents(a, b, files)
	if err != nil {
		return nil, err
	}
	diffs = append(diffs, cd...)
	sort.SliceStable(diffs, func(i, j int) bool {
		if diffs[i].Path != diffs[j].Path {
			return diffs[i].Path < diffs[j].Path
		}
		return diffs[i].What < diffs[j].What
	})
	return diffs, nil
}

func unionPaths(a, b *tree) []string {
	all := make([]string, 0, len(a.entries))
	for p := range a.entries {
		all = append(all, p)
	}
	for p := range b.entries {
		if a.entries[p] == nil {
			all = append(all, p)
		}
	}
	sort.Strings(all)
	return all
}

// bothDirs tells whether p is a directory in both trees: then an entry
// missing below it is reported; else only p itself is.
func bothDirs(a, b *tree, p string) bool {
	ea, eb := a.entries[p], b.entries[p]
	return ea != nil && eb != nil && ea.typ() == unix.S_IFDIR && eb.typ() == unix.S_IFDIR
}

// compareEntry compares the status, attributes and target of an entry in
// both trees. sameSize is true for regular files of equal size, whose
// contents are compared later.
func compareEntry(p string, ea, eb *entry, opt Options) (diffs []Diff, sameSize bool) {
	add := func(what, va, vb string) { diffs = append(diffs, Diff{Path: p, What: what, A: va, B: vb}) }
	sa, sb := &ea.st, &eb.st
	if ea.typ() != eb.typ() {
		add("type", typeName(ea.typ()), typeName(eb.typ()))
		return diffs, false
	}
	if sa.Mode&07777 != sb.Mode&07777 {
		add("mode", fmt.Sprintf("%04o", sa.Mode&07777), fmt.Sprintf("%04o", sb.Mode&07777))
	}
	if sa.Uid != sb.Uid || sa.Gid != sb.Gid {
		add("owner", fmt.Sprintf("%d:%d", sa.Uid, sa.Gid), fmt.Sprintf("%d:%d", sb.Uid, sb.Gid))
	}
	if sa.Mtim != sb.Mtim {
		add("mtime", showTime(sa.Mtim), showTime(sb.Mtim))
	}
	if !opt.IgnoreAtime && sa.Atim != sb.Atim {
		add("atime", showTime(sa.Atim), showTime(sb.Atim))
	}
	for _, name := range xattrNames(ea.xattrs, eb.xattrs) {
		va, oka := ea.xattrs[name]
		vb, okb := eb.xattrs[name]
		if oka != okb || !bytes.Equal(va, vb) {
			add("xattr "+name, showXattr(name, va, oka), showXattr(name, vb, okb))
		}
	}
	switch ea.typ() {
	case unix.S_IFREG:
		if sa.Size != sb.Size {
			add("size", fmt.Sprint(sa.Size), fmt.Sprint(sb.Size))
		} else {
			sameSize = sa.Size > 0
		}
		if sb.Blocks*512 > sa.Blocks*512+opt.SparseSlack {
			add("allocated", fmt.Sprintf("%d bytes", sa.Blocks*512), fmt.Sprintf("%d bytes", sb.Blocks*512))
		}
	case unix.S_IFLNK:
		if ea.target != eb.target {
			add("symlink target", fmt.Sprintf("%q", ea.target), fmt.Sprintf("%q", eb.target))
		}
	case unix.S_IFCHR, unix.S_IFBLK:
		if sa.Rdev != sb.Rdev {
			add("device", showDev(sa.Rdev), showDev(sb.Rdev))
		}
	}
	return diffs, sameSize
}

func xattrNames(a, b map[string][]byte) []string {
	var names []string
	for n := range a {
		names = append(names, n)
	}
	for n := range b {
		if _, ok := a[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// compareLinks compares how the two trees partition their names into
// hard-link groups: each name present in both must be linked with the same
// other names. A broken or joined group is reported once, on its first name.
func compareLinks(a, b *tree) []Diff {
	var diffs []Diff
	seen := map[string]bool{}
	group := func(t *tree, p string) []string {
		e := t.entries[p]
		if e.typ() == unix.S_IFDIR || e.st.Nlink < 2 {
			return []string{p}
		}
		return t.links[e.st.Ino]
	}
	var paths []string
	for p, ea := range a.entries {
		if eb := b.entries[p]; eb != nil && ea.typ() == eb.typ() && ea.typ() != unix.S_IFDIR {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		ga, gb := group(a, p), group(b, p)
		if slices.Equal(ga, gb) {
			continue
		}
		key := strings.Join(ga, "\x00") + "\x01" + strings.Join(gb, "\x00")
		if seen[key] {
			continue
		}
		seen[key] = true
		diffs = append(diffs, Diff{Path: p, What: "hard links", A: showGroup(ga), B: showGroup(gb)})
	}
	return diffs
}

package imagesync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/clone/copyfs"
	"github.com/drd-linux/drd/clone/etcmerge"
)

// BootedSuffix names the booted side's version of a file in conflict,
// written beside the clone's.
const BootedSuffix = ".drd-booted"

// Why entries are in conflict.
const (
	whyBoth         = "changed on the booted image and in the clone"
	whyBothAdded    = "added on the booted image and in the clone, differently"
	whyDeletedClone = "changed on the booted image, deleted in the clone"
	whyDeletedBoot  = "deleted on the booted image, changed in the clone"
	whyDirKept      = "deleted (or replaced) on the booted image; the clone added entries in the directory"
	whyParent       = "a parent directory in the clone is not a directory any more"
)

// op is what a sync does with one entry.
type op uint8

const (
	opKeep     op = iota // nothing: the manifest entry stays
	opCopy               // copy the booted entry into the clone (create or replace)
	opMeta               // a directory in both: its metadata from the booted one
	opDelete             // remove the clone's entry
	opRename             // move the clone's entry from .from (renamed on the booted side)
	opMerge              // three-way merge of an /etc file
	opConflict           // leave the clone's entry; note why
	opSynced             // the two agree already: record them
	opDrop               // gone on both sides: forget it
	opClone              // the clone's own now: the manifest says so
	opMoved              // below a directory renamed: moved with it, as .m recorded
)

// decision is what a sync does with the entry rel of one file system.
type decision struct {
	rel    string
	op     op
	from   string       // opRename
	b      *unix.Stat_t // the booted entry as the walk saw it; nil: none
	m      *Entry       // the manifest's; nil: none
	reason string       // opConflict
	// then, after the work: the booted entry as copied
	copied  unix.Stat_t
	done    bool
	renamed bool // opRename: the clone's entry was moved
}

// fsSync is the sync of one file system.
type fsSync struct {
	ctx      context.Context
	mp       string // its mount point in the image
	src, dst string // where the booted and the clone's are mounted
	old      *FS    // the manifest's entries
	etc      map[string][]byte
	prune    pruneSet // not synced below (relative)
	excluded pruneSet // of prune, those to list as excluded
	skipPkg  func(image string) bool
	preview  bool
	logf     func(string, ...any)

	srcFd, dstFd int
	booted       []stat
	rootSt       unix.Stat_t
	changedDirs  map[string]bool // booted directories that changed under the walk
	otherDev     map[string]bool // booted directories where another file system is mounted
	excl         []string        // excluded paths met (image paths)

	cloneStats map[string]*cstat
	decisions  []*decision
	// newDirs are the directories the sync makes where the clone has
	// something else: their entries are new in the clone.
	newDirs map[string]bool
}

// cstat is the clone's entry, looked up once.
type cstat struct {
	st     unix.Stat_t
	exists bool
	bad    bool // a parent is not a directory (or a link): changed by the clone
}

func (s *fsSync) image(rel string) string {
	if rel == "" {
		return s.mp
	}
	if s.mp == "/" {
		return "/" + rel
	}
	return s.mp + "/" + rel
}

// walk lists the booted file system.
func (s *fsSync) walk() error {
	var mu sync.Mutex
	s.changedDirs = map[string]bool{}
	s.otherDev = map[string]bool{}
	if err := unix.Fstat(s.srcFd, &s.rootSt); err != nil {
		return err
	}
	w := &walker{
		root:  s.srcFd,
		prune: s.prune.has,
		changed: func(rel string) {
			mu.Lock()
			s.changedDirs[rel] = true
			mu.Unlock()
		},
		each: func(d *walkDir) error {
			var ex, other []string
			kept := d.ents[:0]
			for _, e := range d.ents {
				switch {
				case s.prune.has(e.rel):
					if s.excluded.has(e.rel) {
						ex = append(ex, s.image(e.rel))
					}
					continue
				case e.st.Dev != s.rootSt.Dev:
					other = append(other, e.rel)
					continue
				case e.st.Mode&unix.S_IFMT == unix.S_IFSOCK:
					continue
				}
				kept = append(kept, e)
			}
			d.ents = kept
			mu.Lock()
			s.booted = append(s.booted, kept...)
			s.excl = append(s.excl, ex...)
			for _, o := range other {
				s.otherDev[o] = true
			}
			mu.Unlock()
			return nil
		},
	}
	if err := w.run(s.ctx, 0); err != nil {
		return fmt.Errorf("walking %s of the booted image: %w", s.mp, err)
	}
	sortStats(s.booted)
	return nil
}

// left tells whether rel lies below a path the walk did not enter:
// pruned, another file system, or changed under the walk.
func (s *fsSync) left(rel string) bool {
	for p := rel; ; {
		if s.prune.has(p) || s.otherDev[p] || s.changedDirs[p] {
			return true
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return false
		}
		p = p[:i]
	}
}

// clone looks up the clone's entry rel (its status, never following a
// link, resolved below the clone's root).
func (s *fsSync) clone(rel string) *cstat {
	if c, ok := s.cloneStats[rel]; ok {
		return c
	}
	c := &cstat{}
	parent, name := path.Split(rel)
	parent = strings.TrimSuffix(parent, "/")
	if rel == "" {
		c.exists = unix.Fstat(s.dstFd, &c.st) == nil
	} else if fd, err := openDir(s.dstFd, parent); err != nil {
		c.bad = !errors.Is(err, unix.ENOENT)
		if p := s.clone(parent); p.bad || (p.exists && p.st.Mode&unix.S_IFMT != unix.S_IFDIR) {
			c.bad = true
		}
	} else {
		c.exists = unix.Fstatat(fd, name, &c.st, unix.AT_SYMLINK_NOFOLLOW) == nil
		unix.Close(fd)
	}
	s.cloneStats[rel] = c
	return c
}

// bootedSame tells whether the booted entry b is the one the manifest
// recorded.
func bootedSame(id Ident, b *unix.Stat_t) bool {
	if id.Type == TypeNone || id.Ctime == staleCtime || id.Type != typeOf(b.Mode) || id.Ino != b.Ino {
		return false
	}
	if id.Type == TypeDir {
		return id.Mtime == ns(b.Mtim) && id.Ctime == ns(b.Ctim)
	}
	return id.Size == b.Size && id.Mtime == ns(b.Mtim) && id.Ctime == ns(b.Ctim)
}

// cloneSame tells whether the clone's entry is still what drd wrote. A
// directory's times and size change with its entries: only its inode,
// owner and mode count (and its attributes, checked by the caller).
func cloneSame(w Written, c *cstat) bool {
	if !c.exists || w.Type == TypeNone || w.Type != typeOf(c.st.Mode) || w.Ino != c.st.Ino ||
		w.Mode != c.st.Mode&07777 || w.Uid != c.st.Uid || w.Gid != c.st.Gid {
		return false
	}
	if w.Type == TypeDir {
		return true
	}
	return w.Ctime == ns(c.st.Ctim) && w.Size == c.st.Size && w.Mtime == ns(c.st.Mtim)
}

// plan decides what to do with every entry, reading only the entries
// that changed.
func (s *fsSync) plan() {
	s.cloneStats = map[string]*cstat{}
	s.newDirs = map[string]bool{}
	old := s.old.Entries
	var deleted []*decision // candidates, before renames are matched
	var added []*decision
	root := s.rootSt
	booted := append([]stat{{rel: "", st: root}}, s.booted...)
	i, j := 0, 0
	for i < len(old) || j < len(booted) {
		var d *decision
		switch {
		case j >= len(booted) || (i < len(old) && old[i].Rel < booted[j].rel):
			d = &decision{rel: old[i].Rel, m: &old[i]}
			i++
		case i >= len(old) || booted[j].rel < old[i].Rel:
			d = &decision{rel: booted[j].rel, b: &booted[j].st}
			j++
		default:
			d = &decision{rel: old[i].Rel, m: &old[i], b: &booted[j].st}
			i++
			j++
		}
		s.decisions = append(s.decisions, d)
		switch {
		case d.b == nil && s.left(d.rel):
			// not walked: as it was
		case d.b == nil && (d.m.Src.Type == TypeNone):
			if d.m.Flags&FlagConflict != 0 {
				s.decideConflict(d)
			}
		case d.b == nil:
			deleted = append(deleted, d)
		case s.skipPkg != nil && s.skipPkg(s.image(d.rel)):
			// a package's file: the package is listed instead
		case d.m == nil || d.m.Src.Type == TypeNone:
			added = append(added, d)
		case d.m.Flags&FlagConflict != 0:
			s.decideConflict(d)
		case bootedSame(d.m.Src, d.b):
			// unchanged: the common case, nothing read
		default:
			s.decideChanged(d)
		}
	}
	s.matchDirRenames(deleted, added)
	s.matchRenames(deleted, added)
	for _, d := range added {
		if d.op == opKeep {
			s.decideAdded(d)
		}
	}
	for _, d := range deleted {
		if d.op == opKeep && !(s.skipPkg != nil && s.skipPkg(s.image(d.rel))) {
			s.decideDeleted(d)
		}
	}
}

// matchRenames finds the files and links added on the booted side that
// are entries the manifest knows at a path the booted image no longer
// has: renamed. The clone's entry moves when it is still what drd wrote.
func (s *fsSync) matchRenames(deleted, added []*decision) {
	if len(deleted) == 0 || len(added) == 0 {
		return
	}
	byIno := map[uint64]*decision{}
	for _, d := range deleted {
		if t := d.m.Src.Type; t == TypeReg || t == TypeLink {
			byIno[d.m.Src.Ino] = d
		}
	}
	for _, a := range added {
		from, ok := byIno[a.b.Ino]
		if !ok || a.b.Nlink != 1 || from.op != opKeep {
			continue
		}
		id := from.m.Src
		if id.Type != typeOf(a.b.Mode) || id.Size != a.b.Size || (id.Type == TypeReg && id.Mtime != ns(a.b.Mtim)) {
			continue
		}
		oc, nc := s.clone(from.rel), s.clone(a.rel)
		if !cloneSame(from.m.Dst, oc) || nc.exists || nc.bad {
			continue
		}
		a.op, a.from = opRename, from.rel
		from.op = opDrop
		delete(byIno, a.b.Ino)
	}
}

// matchDirRenames finds the directories added on the booted side that
// are a directory the manifest knows at a path the booted image no longer
// has (the same inode): renamed. The clone's directory is renamed, not
// its tree copied anew, when nothing below it changed on either side:
// every entry below is the one the manifest recorded, at the same place
// under the new name (booted side), still what drd wrote, and no entry
// was added or removed in it (clone's side). Otherwise the entries are
// decided one by one (a renamed directory below may still match).
func (s *fsSync) matchDirRenames(deleted, added []*decision) {
	byIno := map[uint64]*decision{}
	gone := map[*decision]bool{}
	for _, d := range deleted {
		gone[d] = true
		if d.m.Src.Type == TypeDir && d.m.Flags&FlagConflict == 0 {
			byIno[d.m.Src.Ino] = d
		}
	}
	if len(byIno) == 0 {
		return
	}
	isNew := map[*decision]bool{}
	for _, a := range added {
		isNew[a] = true
	}
	for _, a := range added { // sorted: a directory before what is below it
		if a.op != opKeep || typeOf(a.b.Mode) != TypeDir {
			continue
		}
		from, ok := byIno[a.b.Ino]
		if !ok || from.op != opKeep || s.left(a.rel) {
			continue
		}
		olds, news := s.below(from.rel), s.below(a.rel)
		if !s.dirRenamed(from, a, olds, news, gone, isNew) {
			continue
		}
		a.op, a.from = opRename, from.rel
		from.op = opDrop
		for k := range olds {
			olds[k].op = opDrop
			news[k].op, news[k].m = opMoved, olds[k].m
		}
		delete(byIno, a.b.Ino)
	}
}

// dirRenamed tells whether the directory from (the manifest's, gone on
// the booted side) was renamed to to with nothing below it changed on
// either side; olds and news are the decisions below each.
func (s *fsSync) dirRenamed(from, to *decision, olds, news []*decision, gone, isNew map[*decision]bool) bool {
	if len(olds) != len(news) {
		return false
	}
	if oc, nc := s.clone(from.rel), s.clone(to.rel); !cloneSame(from.m.Dst, oc) || nc.exists || nc.bad || !s.xattrSame(from.rel, from.m.Dst.Xattr) {
		return false
	}
	children := map[string][]string{from.rel: nil} // the manifest's names in each directory below from
	for k, o := range olds {
		n := news[k]
		if !gone[o] || !isNew[n] || o.op != opKeep || n.op != opKeep || o.m.Flags&FlagConflict != 0 ||
			strings.TrimPrefix(o.rel, from.rel) != strings.TrimPrefix(n.rel, to.rel) ||
			!bootedSame(o.m.Src, n.b) || s.left(n.rel) || !cloneSame(o.m.Dst, s.clone(o.rel)) {
			return false
		}
		parent, name := splitParent(o.rel)
		children[parent] = append(children[parent], name)
		if _, ok := children[o.rel]; !ok && o.m.Src.Type == TypeDir {
			children[o.rel] = nil
		}
	}
	// No entry added or removed by the clone in any directory below.
	buf := make([]byte, 32<<10)
	for dir, want := range children {
		fd, err := openDir(s.dstFd, dir)
		if err != nil {
			return false
		}
		names, err := copyfs.ReadNames(fd, buf)
		unix.Close(fd)
		if err != nil || len(names) != len(want) {
			return false
		}
		have := map[string]bool{}
		for _, n := range names {
			have[n] = true
		}
		for _, n := range want {
			if !have[n] {
				return false
			}
		}
	}
	return true
}

// below returns the decisions about the entries below directory rel
// (they are next to each other: the decisions are sorted by path).
func (s *fsSync) below(rel string) []*decision {
	p := rel + "/"
	i := sort.Search(len(s.decisions), func(i int) bool { return s.decisions[i].rel >= p })
	j := i
	for j < len(s.decisions) && strings.HasPrefix(s.decisions[j].rel, p) {
		j++
	}
	return s.decisions[i:j]
}

// decideAdded: an entry the booted image has and the manifest does not.
func (s *fsSync) decideAdded(d *decision) {
	c := s.clone(d.rel)
	parent, _ := splitParent(d.rel)
	switch {
	case s.newDirs[parent] || (!c.bad && !c.exists):
		d.op = opCopy
		if typeOf(d.b.Mode) == TypeDir {
			s.newDirs[d.rel] = true
		}
	case c.bad:
		s.conflict(d, whyParent)
	case typeOf(c.st.Mode) == TypeDir && typeOf(d.b.Mode) == TypeDir:
		d.op = opSynced // both made it: the clone's metadata stays
	case s.same(d.rel, d.b, c):
		d.op = opSynced
	default:
		s.conflict(d, whyBothAdded)
	}
}

// decideChanged: an entry the booted image changed since the manifest.
func (s *fsSync) decideChanged(d *decision) {
	c := s.clone(d.rel)
	bt := typeOf(d.b.Mode)
	switch {
	case c.bad:
		s.conflict(d, whyParent)
	case bt == TypeDir && c.exists && typeOf(c.st.Mode) == TypeDir:
		if cloneSame(d.m.Dst, c) && s.xattrSame(d.rel, d.m.Dst.Xattr) {
			d.op = opMeta
		} else {
			d.op = opSynced // the clone changed its metadata: it stays
		}
	case cloneSame(d.m.Dst, c):
		// (a directory replaced by something else only if the clone
		// added nothing in it: decided when it is removed)
		d.op = opCopy
		if bt == TypeDir {
			s.newDirs[d.rel] = true
		}
	case !c.exists:
		s.conflict(d, whyDeletedClone)
	case s.same(d.rel, d.b, c):
		d.op = opSynced
	case s.mergeable(d, c):
		d.op = opMerge
	default:
		s.conflict(d, whyBoth)
	}
}

// decideDeleted: an entry of the manifest the booted image no longer has.
func (s *fsSync) decideDeleted(d *decision) {
	c := s.clone(d.rel)
	switch {
	case c.bad:
		s.conflict(d, whyParent)
	case !c.exists:
		d.op = opDrop
	case cloneSame(d.m.Dst, c):
		d.op = opDelete
	default:
		s.conflict(d, whyDeletedBoot)
	}
}

// decideConflict: an entry in conflict at the last sync. It is resolved
// when the two sides agree, or, for a regular file, when FILE.drd-booted
// was removed (the clone's version wins); else, if the booted entry
// changed again, it is decided anew; else it is still in conflict.
func (s *fsSync) decideConflict(d *decision) {
	c := s.clone(d.rel)
	if c.bad {
		s.conflict(d, whyParent)
		return
	}
	bootedSince := d.b != nil && bootedSame(d.m.Src, d.b) || d.b == nil && d.m.Src.Type == TypeNone
	switch {
	case d.b != nil && c.exists && s.same(d.rel, d.b, c):
		d.op = opSynced
		return
	case d.b == nil && !c.exists:
		d.op = opDrop
		return
	}
	if bootedSince {
		resolved := false
		if d.b != nil && typeOf(d.b.Mode) == TypeReg {
			resolved = !s.clone(d.rel + BootedSuffix).exists
		} else {
			resolved = !sameAsRecorded(d.m.Dst, c)
		}
		if resolved {
			d.op = opClone
			return
		}
		s.conflict(d, whyAgain)
		return
	}
	if d.b == nil {
		s.decideDeleted(d)
		return
	}
	s.decideChanged(d)
}

// whyAgain is the reason of a conflict found again, unresolved.
const whyAgain = "in conflict since an earlier sync: merge by hand, then remove the " + BootedSuffix + " file (or change the clone's entry) to keep the clone's"

// sameAsRecorded tells whether the clone's entry is as the conflict
// found it.
func sameAsRecorded(w Written, c *cstat) bool {
	if w.Type == TypeNone {
		return !c.exists
	}
	return c.exists && w.Type == typeOf(c.st.Mode) && w.Ino == c.st.Ino && w.Ctime == ns(c.st.Ctim)
}

func (s *fsSync) conflict(d *decision, why string) {
	d.op, d.reason = opConflict, why
}

// xattrSame tells whether the clone's entry rel has the attributes of
// digest x.
func (s *fsSync) xattrSame(rel string, x uint64) bool {
	parent, name := splitParent(rel)
	fd, err := openDir(s.dstFd, parent)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	got, err := xattrDigest(fd, name)
	return err == nil && got == x
}

func splitParent(rel string) (string, string) {
	if rel == "" {
		return "", ""
	}
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}

// same tells whether the booted entry and the clone's agree: type, owner,
// mode, attributes, and the content (read from both, for a regular file:
// only entries changed on both sides get here), link target or device.
func (s *fsSync) same(rel string, b *unix.Stat_t, c *cstat) bool {
	if !c.exists || b.Mode != c.st.Mode || b.Uid != c.st.Uid || b.Gid != c.st.Gid || b.Size != c.st.Size {
		return false
	}
	parent, name := splitParent(rel)
	sfd, err := openDir(s.srcFd, parent)
	if err != nil {
		return false
	}
	defer unix.Close(sfd)
	dfd, err := openDir(s.dstFd, parent)
	if err != nil {
		return false
	}
	defer unix.Close(dfd)
	if name == "" {
		name = "."
	}
	bx, err1 := xattrDigest(sfd, name)
	cx, err2 := xattrDigest(dfd, name)
	if err1 != nil || err2 != nil || bx != cx {
		return false
	}
	switch b.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return sameContent(sfd, dfd, name)
	case unix.S_IFLNK:
		t1, err1 := readlink(sfd, name)
		t2, err2 := readlink(dfd, name)
		return err1 == nil && err2 == nil && t1 == t2
	case unix.S_IFCHR, unix.S_IFBLK:
		return b.Rdev == c.st.Rdev
	}
	return true
}

func readlink(dirfd int, name string) (string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// sameContent compares two regular files block by block.
func sameContent(sdir, ddir int, name string) bool {
	open := func(dir int) (int, error) {
		return unix.Openat(dir, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	}
	a, err := open(sdir)
	if err != nil {
		return false
	}
	defer unix.Close(a)
	b, err := open(ddir)
	if err != nil {
		return false
	}
	defer unix.Close(b)
	var sa, sb unix.Stat_t
	if unix.Fstat(a, &sa) != nil || unix.Fstat(b, &sb) != nil || sa.Mode&unix.S_IFMT != unix.S_IFREG || sb.Mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	ba, bb := make([]byte, 256<<10), make([]byte, 256<<10)
	for off := int64(0); ; {
		n, err := unix.Pread(a, ba, off)
		if err != nil {
			return false
		}
		m, err := unix.Pread(b, bb[:max(n, 1)], off)
		if err != nil || m != n {
			return false
		}
		if n == 0 {
			return true
		}
		if !bytes.Equal(ba[:n], bb[:n]) {
			return false
		}
		off += int64(n)
	}
}

// mergeable tells whether the entry is an /etc text file with a merge
// base: changed on both sides, it is merged.
func (s *fsSync) mergeable(d *decision, c *cstat) bool {
	if typeOf(d.b.Mode) != TypeReg || typeOf(c.st.Mode) != TypeReg {
		return false
	}
	_, ok := s.etc[etcRel(s.image(d.rel))]
	return ok && strings.HasPrefix(s.image(d.rel), "/etc/")
}

// etcRel is an image path relative to /etc.
func etcRel(image string) string { return strings.TrimPrefix(image, "/etc/") }

// apply carries out the decisions, in an order that keeps every parent
// in place: new directories first (parents before children), renames,
// removals (children before parents), copies and links, merges and the
// booted side of conflicts, then the directories' metadata (children
// before parents).
func (s *fsSync) apply(x *copyfs.Entries, res *Result) error {
	byOp := map[op][]*decision{}
	for _, d := range s.decisions {
		byOp[d.op] = append(byOp[d.op], d)
	}
	touched := map[string]*cstat{} // clone directories whose entries change, as they were
	touch := func(rel string) {
		p, _ := splitParent(rel)
		if _, ok := touched[p]; !ok {
			touched[p] = s.clone(p)
		}
	}
	metaDirs := map[string]bool{}

	// New directories, and directories replacing something else.
	for _, d := range byOp[opCopy] {
		if typeOf(d.b.Mode) != TypeDir {
			continue
		}
		touch(d.rel)
		st, ok, err := x.Copy(d.rel)
		if err != nil {
			return err
		}
		d.copied, d.done = st, ok
		if ok {
			metaDirs[d.rel] = true
			res.copied(s.image(d.rel))
		}
	}
	for _, d := range byOp[opRename] {
		touch(d.rel)
		touch(d.from)
		if err := x.Rename(d.from, d.rel); err != nil {
			return err
		}
		d.renamed = true
		st, ok, err := x.Meta(d.rel)
		if err != nil {
			return err
		}
		if !ok { // changed meanwhile: copy it as it is
			if st, ok, err = x.Copy(d.rel); err != nil {
				return err
			}
		}
		d.copied, d.done = st, ok
		res.copied(s.image(d.rel))
		res.deleted(s.image(d.from))
	}
	// Removals, deepest first; and the directories replaced by other types.
	var gone []*decision
	gone = append(gone, byOp[opDelete]...)
	for _, d := range byOp[opCopy] {
		if c := s.clone(d.rel); c.exists && typeOf(c.st.Mode) == TypeDir && typeOf(d.b.Mode) != TypeDir {
			gone = append(gone, d)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i].rel > gone[j].rel })
	for _, d := range gone {
		touch(d.rel)
		removed, err := x.RemoveEmpty(d.rel)
		if err != nil {
			return err
		}
		switch {
		case !removed:
			s.conflict(d, whyDirKept)
			res.conflict(s.image(d.rel), whyDirKept)
		case d.op == opDelete:
			d.done = true
			res.deleted(s.image(d.rel))
			if strings.HasPrefix(s.image(d.rel), "/etc/") {
				delete(s.etc, etcRel(s.image(d.rel)))
			}
		}
	}
	// Files, links, devices; hard-link groups once per booted inode.
	first := map[uint64]*decision{}
	for _, d := range byOp[opCopy] {
		if typeOf(d.b.Mode) == TypeDir || d.op != opCopy {
			continue
		}
		touch(d.rel)
		if d.b.Nlink > 1 {
			if f, ok := first[d.b.Ino]; ok && f.done && f.copied.Ino == d.b.Ino {
				if err := x.Link(f.rel, d.rel); err != nil {
					return err
				}
				d.copied, d.done = f.copied, true
				res.copied(s.image(d.rel))
				continue
			}
		}
		st, ok, err := x.Copy(d.rel)
		if err != nil {
			return err
		}
		d.copied, d.done = st, ok
		if !ok {
			continue // vanished: next time
		}
		if st.Nlink > 1 {
			first[st.Ino] = d
		}
		res.copied(s.image(d.rel))
		s.rebase(d.rel, st)
	}
	for _, d := range byOp[opMeta] {
		metaDirs[d.rel] = true
	}
	for _, d := range byOp[opMerge] {
		if err := s.merge(x, d, res); err != nil {
			return err
		}
	}
	for _, d := range s.decisions {
		if d.op != opConflict {
			continue
		}
		if byOpHas(gone, d) {
			continue // listed when its removal failed
		}
		res.conflict(s.image(d.rel), d.reason)
		if d.b != nil && typeOf(d.b.Mode) == TypeReg && !s.clone(d.rel).bad {
			touch(d.rel + BootedSuffix)
			if _, _, err := x.CopyBeside(d.rel, d.rel+BootedSuffix); err != nil {
				return err
			}
		}
	}
	// Directory metadata, deepest first: the booted one's where the sync
	// takes it, else the clone's own times back.
	var dirs []string
	for rel := range metaDirs {
		dirs = append(dirs, rel)
	}
	for rel := range touched {
		if !metaDirs[rel] {
			dirs = append(dirs, rel)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, rel := range dirs {
		if metaDirs[rel] {
			st, ok, err := x.Meta(rel)
			if err != nil {
				return err
			}
			for _, d := range s.find(rel) {
				if ok && (d.op == opMeta || d.op == opCopy) {
					d.copied, d.done = st, ok
				}
			}
			continue
		}
		if c := touched[rel]; c.exists && typeOf(c.st.Mode) == TypeDir {
			if now := s.fresh(rel); now == nil || now.Ino != c.st.Ino || typeOf(now.Mode) != TypeDir {
				continue // replaced by the sync
			}
			if err := x.SetTimes(rel, [2]unix.Timespec{c.st.Atim, c.st.Mtim}); err != nil && !errors.Is(err, unix.ENOENT) {
				return err
			}
		}
	}
	return nil
}

func byOpHas(ds []*decision, d *decision) bool {
	for _, g := range ds {
		if g == d {
			return true
		}
	}
	return false
}

// find returns the decisions about rel (one, in practice).
func (s *fsSync) find(rel string) []*decision {
	i := sort.Search(len(s.decisions), func(i int) bool { return s.decisions[i].rel >= rel })
	var out []*decision
	for ; i < len(s.decisions) && s.decisions[i].rel == rel; i++ {
		out = append(out, s.decisions[i])
	}
	return out
}

// rebase keeps the /etc merge base up to date with a file copied.
func (s *fsSync) rebase(rel string, st unix.Stat_t) {
	img := s.image(rel)
	if !strings.HasPrefix(img, "/etc/") {
		return
	}
	k := etcRel(img)
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size > maxEtcFile {
		delete(s.etc, k)
		return
	}
	parent, name := splitParent(rel)
	fd, err := openDir(s.dstFd, parent)
	if err != nil {
		delete(s.etc, k)
		return
	}
	defer unix.Close(fd)
	if data, err := readAt(fd, name, maxEtcFile); err == nil {
		s.etc[k] = data
	} else {
		delete(s.etc, k)
	}
}

// merge merges an /etc file changed on both sides: the merged text goes
// into the clone's file (its inode, owner, mode and attributes stay); a
// merge that cannot be made is a conflict.
func (s *fsSync) merge(x *copyfs.Entries, d *decision, res *Result) error {
	img := s.image(d.rel)
	base := s.etc[etcRel(img)]
	parent, name := splitParent(d.rel)
	sfd, err := openDir(s.srcFd, parent)
	if err != nil {
		s.conflict(d, "changed on both sides; the booted file could not be read: "+err.Error())
		return nil
	}
	defer unix.Close(sfd)
	dfd, err := openDir(s.dstFd, parent)
	if err != nil {
		s.conflict(d, whyParent)
		return nil
	}
	defer unix.Close(dfd)
	var before unix.Stat_t
	if err := unix.Fstat(sfd, &before); err != nil {
		return err
	}
	booted, err1 := readAt(sfd, name, maxEtcFile)
	var bst unix.Stat_t
	err3 := unix.Fstatat(sfd, name, &bst, unix.AT_SYMLINK_NOFOLLOW)
	clone, err2 := readAt(dfd, name, maxEtcFile)
	if err1 != nil || err2 != nil || err3 != nil {
		s.conflict(d, whyBoth+" (too big or unreadable to merge)")
		return nil
	}
	out, err := etcmerge.File(img, base, clone, booted)
	if err != nil {
		var c *etcmerge.Conflict
		if errors.As(err, &c) {
			s.conflict(d, whyBoth+": "+c.Reason)
		} else {
			s.conflict(d, whyBoth+": "+err.Error())
		}
		return nil
	}
	if !s.preview {
		if err := writeInPlace(dfd, name, out); err != nil {
			return fmt.Errorf("writing the merged %s into the clone: %w", img, err)
		}
	}
	s.etc[etcRel(img)] = booted
	d.copied, d.done = bst, true
	res.merged(img)
	return nil
}

// writeInPlace replaces the contents of the regular file name of dirfd,
// keeping its inode (owner, mode, attributes, other names) and its
// modification time moving as an edit would.
func writeInPlace(dirfd int, name string, data []byte) error {
	fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return errors.New("not a regular file")
	}
	if err := unix.Ftruncate(fd, 0); err != nil {
		return err
	}
	for off := 0; off < len(data); {
		n, err := unix.Pwrite(fd, data[off:], int64(off))
		if err != nil {
			return err
		}
		off += n
	}
	return nil
}

// manifest makes the file system's new manifest entries from the
// decisions carried out: the clone's entries are looked at again (after
// every write: links change status times).
func (s *fsSync) manifest() ([]Entry, error) {
	out := make([]Entry, 0, len(s.old.Entries)+len(s.booted)/16)
	for _, d := range s.decisions {
		switch d.op {
		case opKeep:
			if d.m != nil {
				out = append(out, *d.m)
			}
		case opDrop:
		case opDelete:
			if !d.done {
				out = append(out, *d.m)
			}
		case opClone:
			out = append(out, Entry{Rel: d.rel, Src: d.m.Src})
		case opMoved:
			if e, ok := s.moved(d); ok {
				out = append(out, e)
			}
		case opConflict:
			e := Entry{Rel: d.rel, Flags: FlagConflict}
			if d.b != nil {
				e.Src = identOf(d.b)
			}
			if c := s.fresh(d.rel); c != nil {
				e.Dst = writtenOf(c, 0)
			}
			out = append(out, e)
		case opMerge:
			e := Entry{Rel: d.rel, Src: identOf(&d.copied)}
			if d.m != nil {
				e.Dst = d.m.Dst // the clone's version is its own still
			}
			out = append(out, e)
		case opSynced, opCopy, opMeta, opRename:
			if !d.done && d.op != opSynced {
				if d.m != nil {
					out = append(out, *d.m)
				}
				continue
			}
			b := d.b
			if d.op != opSynced {
				b = &d.copied
			}
			c := s.fresh(d.rel)
			if c == nil {
				continue
			}
			x, err := s.digest(d.rel)
			if err != nil {
				return nil, err
			}
			e := Entry{Rel: d.rel, Src: identOf(b), Dst: writtenOf(c, x)}
			if b.Ctim.Sec < 0 {
				e.Src.Ctime = staleCtime
			}
			if d.op == opSynced && typeOf(c.Mode) == TypeDir && d.m != nil && !cloneSame(d.m.Dst, &cstat{st: *c, exists: true}) {
				e.Dst = d.m.Dst // a directory whose metadata is the clone's own
			}
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out, nil
}

// moved is the manifest entry of d, moved with a renamed directory: as
// recorded, at its new path; none when the rename was not made.
func (s *fsSync) moved(d *decision) (Entry, bool) {
	for p := d.rel; p != ""; {
		p, _ = splitParent(p)
		for _, r := range s.find(p) {
			if r.op == opRename {
				if !r.renamed {
					return Entry{}, false
				}
				e := *d.m
				e.Rel = d.rel
				return e, true
			}
		}
	}
	return Entry{}, false
}

// fresh is the clone's entry rel now, nil when there is none.
func (s *fsSync) fresh(rel string) *unix.Stat_t {
	parent, name := splitParent(rel)
	if rel == "" {
		var st unix.Stat_t
		if unix.Fstat(s.dstFd, &st) != nil {
			return nil
		}
		return &st
	}
	fd, err := openDir(s.dstFd, parent)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return nil
	}
	return &st
}

func (s *fsSync) digest(rel string) (uint64, error) {
	parent, name := splitParent(rel)
	fd, err := openDir(s.dstFd, parent)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	return xattrDigest(fd, name)
}

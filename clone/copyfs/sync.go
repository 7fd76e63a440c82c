package copyfs

import (
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Sync walks source and target side by side. Directories are compared and
// descended; other entries are compared and, when they differ, either fixed
// in place (metadata only) or made again (content, type, link target, device
// number). A regular file is made again when its size or modification time
// differ, or when its status change time is not older than the target's:
// Copy (and Sync) check the source once more after writing each file, so a
// change after that check always has a status change time at or after the
// time the target file got its metadata.

// syncDir brings the directory rel of the target (which exists) to equal
// the source directory rel (inode ino, as its parent listed it).
func (e *engine) syncDir(w *worker, rel string, ino uint64) error {
	full, dfull := e.srcPath(rel), e.dstPath(rel)
	sfd, st, err := e.openSrcDirStat(rel, duringSync)
	if sfd < 0 {
		return err
	}
	defer unix.Close(sfd)
	var dt unix.Stat_t
	if st.Dev == e.dev && st.Ino != ino {
		e.logf("%s was replaced during the second pass: run it again", full)
		return nil
	}
	a, err := readMeta(&st, sfd, -1, "", full, &w.xbuf)
	if err != nil {
		return srcError("reading the attributes of", full, err)
	}
	dfd, err := openBeneath(e.dstFd, rel, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOATIME)
	if err == unix.EPERM {
		dfd, err = openBeneath(e.dstFd, rel, unix.O_RDONLY|unix.O_DIRECTORY)
	}
	if err != nil {
		return dstError("opening the directory", dfull, err)
	}
	defer unix.Close(dfd)
	if err := unix.Fstat(dfd, &dt); err != nil {
		return dstError("examining", dfull, err)
	}
	have, err := readMeta(&dt, dfd, -1, "", dfull, &w.xbuf)
	if err != nil {
		return dstError("reading the attributes of", dfull, err)
	}
	if !sameAttrs(have, a) {
		e.st.dirs.Add(1)
		e.st.entries.Add(1)
	}
	e.addDir(rel, a)
	if e.isTarget(&st) {
		e.logf("%s is the target: not copied into itself", full)
		return nil
	}
	if st.Dev != e.dev || e.excl.has(rel) {
		return nil
	}

	sents, err := readDir(sfd, w.dents)
	if err != nil {
		return srcError("reading the directory", full, err)
	}
	dents, err := readDir(dfd, w.dents)
	if err != nil {
		return dstError("reading the directory", dfull, err)
	}
	inDst := make(map[string]bool, len(dents))
	for _, d := range dents {
		inDst[d.name] = true
	}
	slices.SortFunc(sents, func(a, b dirent) int { return cmpUint(a.ino, b.ino) })
	for _, de := range sents {
		if e.ctx.Err() != nil {
			return nil
		}
		e.st.checked.Add(1)
		had := inDst[de.name]
		delete(inDst, de.name)
		if err := e.syncEntry(w, sfd, dfd, rel, de.name, had); err != nil {
			return err
		}
	}
	for _, d := range dents {
		if inDst[d.name] {
			if err := e.remove(dfd, d.name, joinRel(rel, d.name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// syncEntry brings the entry name of the target directory dfd (present if
// had) to equal the entry of the source directory sfd.
func (e *engine) syncEntry(w *worker, sfd, dfd int, rel, name string, had bool) error {
	crel := joinRel(rel, name)
	l := e.loc(crel)
	var s, d unix.Stat_t
	if err := unix.Fstatat(sfd, name, &s, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if vanished(err) {
			if had {
				return e.remove(dfd, name, crel)
			}
			return nil
		}
		return srcError("examining", l.src(), err)
	}
	typ := s.Mode & unix.S_IFMT
	if typ != unix.S_IFDIR && e.excl.has(crel) {
		return nil
	}
	if had {
		if err := unix.Fstatat(dfd, name, &d, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if err != unix.ENOENT {
				return dstError("examining", l.dst(), err)
			}
			had = false
		}
	}
	if had && d.Mode&unix.S_IFMT != typ {
		if err := e.remove(dfd, name, crel); err != nil {
			return err
		}
		had = false
	}
	if !had {
		return e.create(w, sfd, dfd, rel, name, &s)
	}

	switch typ {
	case unix.S_IFDIR:
		ino := s.Ino
		w.q.push(func(w *worker) error { return e.syncDir(w, crel, ino) })
		return nil
	case unix.S_IFREG:
		if s.Size != d.Size || s.Mtim != d.Mtim || !before(s.Ctim, d.Ctim) {
			return e.replace(w, sfd, dfd, rel, name, &s)
		}
	case unix.S_IFLNK:
		// A link's target changes only by making a new link (a new status
		// change time): the target is not read, which would change the
		// access time of the copy on a relatime mount.
		if s.Size != d.Size || !before(s.Ctim, d.Ctim) {
			return e.replace(w, sfd, dfd, rel, name, &s)
		}
	case unix.S_IFCHR, unix.S_IFBLK:
		if s.Rdev != d.Rdev {
			return e.replace(w, sfd, dfd, rel, name, &s)
		}
	}
	if err := e.syncMeta(w, sfd, dfd, crel, name, &s, &d); err != nil {
		return err
	}
	if s.Nlink > 1 || d.Nlink > 1 {
		e.addLinkRec(crel, s.Ino, d.Ino)
	}
	return nil
}

// before tells whether time a is strictly before b.
func before(a, b unix.Timespec) bool {
	return a.Sec < b.Sec || (a.Sec == b.Sec && a.Nsec < b.Nsec)
}

// create makes a new target entry for the source entry name (status s).
func (e *engine) create(w *worker, sfd, dfd int, rel, name string, s *unix.Stat_t) error {
	crel := joinRel(rel, name)
	switch s.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return e.makeDir(w, dfd, crel, dirent{name: name, ino: s.Ino, typ: unix.DT_DIR})
	case unix.S_IFREG:
		return e.copyFile(w, sfd, dfd, rel, name)
	}
	return e.copyOther(w, sfd, dfd, rel, name)
}

// replace removes the target entry and makes it again from the source.
func (e *engine) replace(w *worker, sfd, dfd int, rel, name string, s *unix.Stat_t) error {
	crel := joinRel(rel, name)
	if err := unix.Unlinkat(dfd, name, 0); err != nil && err != unix.ENOENT {
		return dstError("removing", e.dstPath(crel), err)
	}
	return e.create(w, sfd, dfd, rel, name, s)
}

// syncMeta fixes the metadata of a target entry in place when it differs.
func (e *engine) syncMeta(w *worker, sfd, dfd int, crel, name string, s, d *unix.Stat_t) error {
	full, dfull := e.srcPath(crel), e.dstPath(crel)
	want, err := readMeta(s, -1, sfd, name, full, &w.xbuf)
	if err != nil {
		if vanished(err) {
			return nil
		}
		return srcError("reading the attributes of", full, err)
	}
	have, err := readMeta(d, -1, dfd, name, dfull, &w.xbuf)
	if err != nil {
		return dstError("reading the attributes of", dfull, err)
	}
	if sameAttrs(want, have) {
		return nil
	}
	if err := e.setMeta(metaTarget{fd: -1, dirfd: dfd, name: name, at: e.loc(crel)}, &want, true, &w.xbuf); err != nil {
		return err
	}
	e.count(s.Mode)
	return nil
}

// count adds one entry copied or caught, of the type in mode.
func (e *engine) count(mode uint32) {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		e.st.files.Add(1)
	case unix.S_IFDIR:
		e.st.dirs.Add(1)
	case unix.S_IFLNK:
		e.st.symlinks.Add(1)
	case unix.S_IFIFO:
		e.st.fifos.Add(1)
	default:
		e.st.devices.Add(1)
	}
	e.st.entries.Add(1)
}

// remove deletes the target entry name of dfd, with everything below it.
func (e *engine) remove(dfd int, name, crel string) error {
	err := unix.Unlinkat(dfd, name, 0)
	if err == unix.EISDIR || err == unix.EPERM {
		err = e.removeDir(dfd, name, crel)
	}
	if err != nil && err != unix.ENOENT {
		return dstError("removing", e.dstPath(crel), err)
	}
	e.st.removed.Add(1)
	e.st.entries.Add(1)
	return nil
}

// removeDir empties the directory name of dfd and removes it.
func (e *engine) removeDir(dfd int, name, crel string) error {
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	ents, err := readDir(fd, make([]byte, 64<<10))
	if err == nil {
		for _, de := range ents {
			if err = e.remove(fd, de.name, joinRel(crel, de.name)); err != nil {
				break
			}
		}
	}
	unix.Close(fd)
	if err != nil {
		return err
	}
	return unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR)
}

// addLinkRec notes a name of a multiply-linked inode (in the source or the
// target) for the phase that re-forms hard-link groups.
func (e *engine) addLinkRec(rel string, src, dst uint64) {
	e.mu.Lock()
	e.recs = append(e.recs, linkRec{rel: rel, src: src, dst: dst})
	e.mu.Unlock()
}

func (e *engine) recordLinkAt(dfd int, name, crel string, srcIno uint64) error {
	var d unix.Stat_t
	if err := unix.Fstatat(dfd, name, &d, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return dstError("examining", e.dstPath(crel), err)
	}
	e.addLinkRec(crel, srcIno, d.Ino)
	return nil
}

// fixLinks carries out the link plan: every name of a source inode ends up
// on one target inode that no other name shares.
func (e *engine) fixLinks(w *worker) error {
	e.links.mu.Lock()
	e.links.m = make(map[uint64]*linkEntry) // the walk's claims are spent
	e.links.mu.Unlock()
	for _, g := range planLinks(e.recs) {
		if e.ctx.Err() != nil {
			return e.ctx.Err()
		}
		if g.fresh {
			if err := e.recopy(w, g.canonical); err != nil {
				return err
			}
		}
		for _, rel := range g.relink {
			if err := e.relink(g.canonical, rel); err != nil {
				return err
			}
		}
		if err := e.recheck(w, g.canonical); err != nil {
			return err
		}
	}
	return nil
}

// inParent opens the parent directories of rel in source and target and
// calls fn with them and the base name.
func (e *engine) inParent(rel string, fn func(sfd, dfd int, parent, name string) error) error {
	parent, name := splitRel(rel)
	sfd, err := e.openSrcDir(parent)
	if err != nil {
		return srcError("opening the directory", e.srcPath(parent), err)
	}
	defer unix.Close(sfd)
	dfd, err := openBeneath(e.dstFd, parent, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return dstError("opening the directory", e.dstPath(parent), err)
	}
	defer unix.Close(dfd)
	return fn(sfd, dfd, parent, name)
}

func splitRel(rel string) (parent, name string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}

// recopy makes the target entry rel again, on a new inode.
func (e *engine) recopy(w *worker, rel string) error {
	return e.inParent(rel, func(sfd, dfd int, parent, name string) error {
		var s unix.Stat_t
		if err := unix.Fstatat(sfd, name, &s, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return srcError("examining", e.srcPath(rel), err)
		}
		return e.replace(w, sfd, dfd, parent, name, &s)
	})
}

// relink makes the target entry rel a hard link to the target entry to.
func (e *engine) relink(to, rel string) error {
	parent, name := splitRel(rel)
	for i := 0; ; i++ {
		tmp := joinRel(parent, ".drd-link."+name+"."+strconv.Itoa(i))
		err := unix.Linkat(e.dstFd, to, e.dstFd, tmp, 0)
		if err == unix.EEXIST && i < 100 {
			continue
		}
		if err != nil {
			return dstError("linking "+e.dstPath(to)+" to", e.dstPath(rel), err)
		}
		if err := unix.Renameat(e.dstFd, tmp, e.dstFd, rel); err != nil {
			unix.Unlinkat(e.dstFd, tmp, 0)
			return dstError("linking "+e.dstPath(to)+" to", e.dstPath(rel), err)
		}
		e.st.hardLinks.Add(1)
		e.st.entries.Add(1)
		return nil
	}
}

// recheck fixes the metadata of the target entry rel: another name that
// shared its inode during the walk may have set its own.
func (e *engine) recheck(w *worker, rel string) error {
	return e.inParent(rel, func(sfd, dfd int, parent, name string) error {
		var s, d unix.Stat_t
		if err := unix.Fstatat(sfd, name, &s, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if vanished(err) {
				return nil
			}
			return srcError("examining", e.srcPath(rel), err)
		}
		if err := unix.Fstatat(dfd, name, &d, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return dstError("examining", e.dstPath(rel), err)
		}
		return e.syncMeta(w, sfd, dfd, rel, name, &s, &d)
	})
}

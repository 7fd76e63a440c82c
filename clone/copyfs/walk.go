package copyfs

import (
	"slices"

	"golang.org/x/sys/unix"
)

// batchFiles is how many regular files of one directory make one job: big
// enough to amortize opening the directory again, small enough to spread a
// large directory over the pool.
const batchFiles = 16

// openSrcDir opens a directory of the source by its relative path, without
// following symbolic links and without changing its access time.
func (e *engine) openSrcDir(rel string) (int, error) {
	fd, err := openBeneath(e.srcFd, rel, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOATIME)
	if err == unix.EPERM {
		fd, err = openBeneath(e.srcFd, rel, unix.O_RDONLY|unix.O_DIRECTORY)
	}
	return fd, err
}

// What the log says of a source entry that changed under the copy, in
// Copy and in Sync.
const (
	whileCopying = "while copying: the second pass catches it"
	duringSync   = "during the second pass: run it again"
)

// openSrcDirStat opens the source directory rel and reads its status. If
// it vanished meanwhile, it logs so (when: whileCopying or duringSync) and
// returns fd -1 and no error: the caller skips it. Otherwise the caller
// closes fd.
func (e *engine) openSrcDirStat(rel, when string) (fd int, st unix.Stat_t, err error) {
	full := e.srcPath(rel)
	fd, err = e.openSrcDir(rel)
	if err != nil {
		if vanished(err) {
			e.logf("%s vanished or changed %s", full, when)
			return -1, st, nil
		}
		return -1, st, srcError("opening the directory", full, err)
	}
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, st, srcError("examining", full, err)
	}
	return fd, st, nil
}

// copyDir copies the directory rel (inode ino, as its parent listed it):
// it records its metadata for the last phase, creates its subdirectories,
// symbolic links and special files, and hands its regular files and
// subdirectories to the pool.
func (e *engine) copyDir(w *worker, rel string, ino uint64) error {
	full := e.srcPath(rel)
	sfd, st, err := e.openSrcDirStat(rel, whileCopying)
	if sfd < 0 {
		return err
	}
	defer unix.Close(sfd)
	a, err := readMeta(&st, sfd, -1, "", full, &w.xbuf)
	if err != nil {
		return srcError("reading the attributes of", full, err)
	}
	if e.isTarget(&st) {
		e.logf("%s is the target: not copied into itself", full)
		return nil
	}
	if st.Dev != e.dev {
		e.addDir(rel, a)
		e.logf("%s is the mount point of another file system: copied as an empty directory", full)
		return nil
	}
	if st.Ino != ino {
		e.logf("%s was replaced while copying: the second pass catches it", full)
		return nil
	}
	e.addDir(rel, a)
	if e.excl.has(rel) {
		e.logf("%s is excluded: directory kept, contents left out", full)
		return nil
	}
	dfd, err := openBeneath(e.dstFd, rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return dstError("opening the directory", e.dstPath(rel), err)
	}
	defer unix.Close(dfd)
	ents, err := readDir(sfd, w.dents)
	if err != nil {
		return srcError("reading the directory", full, err)
	}
	// Inode order reads the inode tables of the source front to back.
	slices.SortFunc(ents, func(a, b dirent) int { return cmpUint(a.ino, b.ino) })

	var batch []dirent
	flush := func() {
		if len(batch) > 0 {
			b := batch
			batch = nil
			w.q.push(func(w *worker) error { return e.copyFiles(w, rel, st.Ino, b) })
		}
	}
	for _, de := range ents {
		if e.ctx.Err() != nil {
			return nil
		}
		e.st.checked.Add(1)
		crel := joinRel(rel, de.name)
		switch de.typ {
		case unix.DT_DIR:
			if err := e.makeDir(w, dfd, crel, de); err != nil {
				return err
			}
		case unix.DT_REG:
			if e.excl.has(crel) {
				continue
			}
			batch = append(batch, de)
			if len(batch) >= batchFiles {
				flush()
			}
		default:
			if err := e.copyOther(w, sfd, dfd, rel, de.name); err != nil {
				return err
			}
		}
	}
	flush()
	return nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// makeDir creates the target directory for the source directory de, owner
// only until the last phase sets its metadata, and queues its copy. An
// existing directory (lost+found of a fresh file system) is reused.
func (e *engine) makeDir(w *worker, dfd int, crel string, de dirent) error {
	name := de.name
	if err := unix.Mkdirat(dfd, name, 0o700); err != nil {
		var st unix.Stat_t
		if err != unix.EEXIST || unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return dstError("creating the directory", e.dstPath(crel), err)
		}
	}
	e.st.dirs.Add(1)
	e.st.entries.Add(1)
	ino := de.ino
	w.q.push(func(w *worker) error { return e.copyDir(w, crel, ino) })
	return nil
}

// copyOther copies an entry that is not known to be a regular file or a
// directory (a symbolic link, a device, a fifo, a socket, or a name whose
// type the directory did not tell).
func (e *engine) copyOther(w *worker, sfd, dfd int, rel, name string) error {
	crel := joinRel(rel, name)
	full := e.srcPath(crel)
	var st unix.Stat_t
	if err := unix.Fstatat(sfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if vanished(err) {
			e.logf("%s vanished while copying: the second pass catches it", full)
			return nil
		}
		return srcError("examining", full, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return e.makeDir(w, dfd, crel, dirent{name: name, ino: st.Ino, typ: unix.DT_DIR})
	case unix.S_IFREG:
		if e.excl.has(crel) {
			return nil
		}
		return e.copyFile(w, sfd, dfd, rel, name)
	case unix.S_IFSOCK:
		e.st.sockets.Add(1)
		e.logf("%s is a socket: skipped (sockets are made by the programs that listen on them)", full)
		return nil
	}
	if e.excl.has(crel) {
		return nil
	}
	return e.copySpecial(w, sfd, dfd, rel, name, &st)
}

// copySpecial copies a symbolic link (its target verbatim, dangling or
// absolute), a device node or a fifo, with its metadata. Like a regular
// file, it is made again if the source changed meanwhile, so that a later
// change always leaves a status change time at or after the target's.
func (e *engine) copySpecial(w *worker, sfd, dfd int, rel, name string, st *unix.Stat_t) error {
	crel := joinRel(rel, name)
	full, dfull := e.srcPath(crel), e.dstPath(crel)
	le, done, err := e.claimLink(dfd, crel, name, st)
	if done || err != nil {
		return err
	}
	defer le.release()
	for attempt := 1; ; attempt++ {
		a, err := readMeta(st, -1, sfd, name, full, &w.xbuf)
		if err != nil {
			if vanished(err) {
				return nil
			}
			return srcError("reading the attributes of", full, err)
		}
		var target string
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			if target, err = readlinkAt(sfd, name, &w.xbuf); err != nil {
				if vanished(err) || err == unix.EINVAL {
					return nil
				}
				return srcError("reading the symbolic link", full, err)
			}
		}
		if attempt > 1 {
			if err := unix.Unlinkat(dfd, name, 0); err != nil {
				return dstError("removing", dfull, err)
			}
		}
		if err := e.makeSpecial(dfd, name, dfull, st, target); err != nil {
			return err
		}
		le.created(crel)
		if err := e.setMeta(metaTarget{fd: -1, dirfd: dfd, name: name, at: e.loc(crel)}, &a, e.incremental, &w.xbuf); err != nil {
			return err
		}
		var post unix.Stat_t
		err = unix.Fstatat(sfd, name, &post, unix.AT_SYMLINK_NOFOLLOW)
		if err != nil || (post.Ino == st.Ino && post.Ctim == st.Ctim) {
			break
		}
		if attempt == 3 || post.Mode&unix.S_IFMT != st.Mode&unix.S_IFMT || e.ctx.Err() != nil {
			e.logf("%s keeps changing while copying: the second pass catches it", full)
			break
		}
		*st = post
	}
	e.count(st.Mode)
	if e.incremental && st.Nlink > 1 {
		return e.recordLinkAt(dfd, name, crel, st.Ino)
	}
	return nil
}

func (e *engine) makeSpecial(dfd int, name, dfull string, st *unix.Stat_t, target string) error {
	var err error
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		err = unix.Symlinkat(target, dfd, name)
	} else {
		err = unix.Mknodat(dfd, name, st.Mode&unix.S_IFMT|0o600, int(st.Rdev))
	}
	if err != nil {
		return dstError("creating", dfull, err)
	}
	return nil
}

// linkName makes name in dfd a hard link to the first copy of a claimed
// inode. done is false when there is no first copy to link to: the caller
// then copies the entry on its own.
func (e *engine) linkName(le *linkEntry, dfd int, crel, name string, srcIno uint64) (done bool, err error) {
	first, ok := e.waitLink(le)
	if !ok {
		return false, nil
	}
	if err := unix.Linkat(e.dstFd, first, dfd, name, 0); err != nil {
		return false, dstError("linking "+e.dstPath(first)+" to", e.dstPath(crel), err)
	}
	e.st.hardLinks.Add(1)
	e.st.entries.Add(1)
	if e.incremental {
		return true, e.recordLinkAt(dfd, name, crel, srcIno)
	}
	return true, nil
}

// readlinkAt returns the target of the symbolic link name in dir, verbatim.
func readlinkAt(dir int, name string, buf *[]byte) (string, error) {
	for {
		n, err := unix.Readlinkat(dir, name, *buf)
		if err != nil {
			return "", err
		}
		if n < len(*buf) {
			return string((*buf)[:n]), nil
		}
		*buf = make([]byte, 2*len(*buf))
	}
}

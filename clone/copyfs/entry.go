package copyfs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Entries copies single entries between two trees with the engine's
// exactness (holes, owners, modes, extended attributes with ACLs and
// capabilities, ns times): the unit of work of drd sync
// (clone/imagesync), which decides itself what to copy, link, rename or
// remove. Every path is relative to the two roots and resolved below them
// without following a link (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS),
// in the source as in the target: an entry replaced by a link or a
// directory while it is copied is copied as it is then, or not at all,
// and no write lands outside the target. It is not safe for concurrent use.
type Entries struct {
	e *engine
	w *worker
}

// OpenEntries opens the source and target roots.
func OpenEntries(ctx context.Context, src, dst string, logf func(string, ...any)) (*Entries, error) {
	srcFd, err := unix.Open(src, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the source %s: %w", src, err)
	}
	dstFd, err := unix.Open(dst, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(srcFd)
		return nil, fmt.Errorf("opening the target %s: %w", dst, err)
	}
	var st, dt unix.Stat_t
	unix.Fstat(srcFd, &st)
	unix.Fstat(dstFd, &dt)
	ctx2, cancel := context.WithCancel(ctx)
	e := &engine{
		ctx: ctx2, cancel: cancel, opt: Options{Logf: logf}, src: src, dst: dst, srcFd: srcFd, dstFd: dstFd,
		dev: st.Dev, dstDev: dt.Dev, dstIno: dt.Ino, uid: uint32(os.Geteuid()), gid: uint32(os.Getegid()),
		incremental: true, umask: -1,
	}
	e.links.m = make(map[uint64]*linkEntry)
	return &Entries{e: e, w: newWorker()}, nil
}

// Close releases the roots.
func (x *Entries) Close() error {
	x.e.cancel()
	unix.Close(x.e.srcFd)
	return unix.Close(x.e.dstFd)
}

// Stats counts what was copied so far.
func (x *Entries) Stats() Stats { return x.e.st.snapshot() }

// inDirs opens the parent directories of rel in the source (when src)
// and the target and calls fn with them and the base name. A source
// parent that vanished or was replaced by a link gives ok false.
func (x *Entries) inDirs(rel string, src bool, fn func(sfd, dfd int, parent, name string) error) (ok bool, err error) {
	parent, name := splitRel(rel)
	sfd := -1
	if src {
		sfd, err = x.e.openSrcDir(parent)
		if err != nil {
			if vanished(err) {
				return false, nil
			}
			return false, srcError("opening the directory", x.e.srcPath(parent), err)
		}
		defer unix.Close(sfd)
	}
	dfd, err := openBeneath(x.e.dstFd, parent, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return false, dstError("opening the directory", x.e.dstPath(parent), err)
	}
	defer unix.Close(dfd)
	return true, fn(sfd, dfd, parent, name)
}

// tmpName is a fresh name beside name for an entry being made.
func tmpName(name string) string {
	var b [6]byte
	rand.Read(b[:])
	return ".drd-sync." + hex.EncodeToString(b[:]) + "." + name
}

// Copy makes the target entry rel again as the source entry rel is now,
// whatever the types of both: a regular file, link, device or fifo is
// made under a new name and renamed over the target entry (a directory
// there is removed first); a directory is made empty if the target has
// none (its contents are the caller's, its metadata Meta's, once its
// contents are done). It returns the status of the source entry as it
// was copied; ok false when it vanished (nothing done) or is a socket.
func (x *Entries) Copy(rel string) (st unix.Stat_t, ok bool, err error) {
	return x.copyAs(rel, rel, true)
}

// CopyBeside copies the regular file rel of the source to the new name
// dstRel of the target (FILE.drd-booted), replacing what is there.
func (x *Entries) CopyBeside(rel, dstRel string) (st unix.Stat_t, ok bool, err error) {
	return x.copyAs(rel, dstRel, false)
}

func (x *Entries) copyAs(rel, dstRel string, anyType bool) (st unix.Stat_t, ok bool, err error) {
	e := x.e
	sparent, sname := splitRel(rel)
	sfd, err := e.openSrcDir(sparent)
	if err != nil {
		if vanished(err) {
			return st, false, nil
		}
		return st, false, srcError("opening the directory", e.srcPath(sparent), err)
	}
	defer unix.Close(sfd)
	ok, err = x.inDirs(dstRel, false, func(_, dfd int, _, dname string) error {
		if err := unix.Fstatat(sfd, sname, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if vanished(err) {
				return errVanished
			}
			return srcError("examining", e.srcPath(rel), err)
		}
		typ := st.Mode & unix.S_IFMT
		if !anyType && typ != unix.S_IFREG {
			return errVanished
		}
		switch typ {
		case unix.S_IFSOCK:
			return errVanished
		case unix.S_IFDIR:
			var d unix.Stat_t
			if unix.Fstatat(dfd, dname, &d, unix.AT_SYMLINK_NOFOLLOW) == nil {
				if d.Mode&unix.S_IFMT == unix.S_IFDIR {
					return nil
				}
				if err := e.remove(dfd, dname, dstRel); err != nil {
					return err
				}
			}
			if err := unix.Mkdirat(dfd, dname, 0o700); err != nil {
				return dstError("creating the directory", e.dstPath(dstRel), err)
			}
			e.count(st.Mode)
			return nil
		}
		tmp := tmpName(dname)
		var made bool
		var err error
		if typ == unix.S_IFREG {
			made, err = x.fileTo(sfd, sname, dfd, tmp, rel, &st)
		} else {
			made, err = x.specialTo(sfd, sname, dfd, tmp, rel, &st)
		}
		if err != nil || !made {
			unix.Unlinkat(dfd, tmp, 0)
			if err == nil {
				return errVanished
			}
			return err
		}
		return x.renameOver(dfd, tmp, dname, dstRel)
	})
	if err == errVanished {
		return st, false, nil
	}
	return st, ok && err == nil, err
}

// errVanished: the source entry went away, or is of a kind not copied.
var errVanished = fmt.Errorf("vanished")

// renameOver renames tmp over name in dfd; a directory at name is
// removed first (rename cannot replace a directory by a file).
func (x *Entries) renameOver(dfd int, tmp, name, rel string) error {
	var d unix.Stat_t
	if unix.Fstatat(dfd, name, &d, unix.AT_SYMLINK_NOFOLLOW) == nil && d.Mode&unix.S_IFMT == unix.S_IFDIR {
		if err := x.e.remove(dfd, name, rel); err != nil {
			unix.Unlinkat(dfd, tmp, 0)
			return err
		}
	}
	if err := unix.Renameat(dfd, tmp, dfd, name); err != nil {
		unix.Unlinkat(dfd, tmp, 0)
		return dstError("replacing", x.e.dstPath(rel), err)
	}
	return nil
}

// fileTo copies the regular file sname of sfd into the new name tmp of
// dfd, data then metadata, both read from the open source file. st is
// updated to the status copied. made is false if the source is no
// regular file any more.
func (x *Entries) fileTo(sfd int, sname string, dfd int, tmp, rel string, st *unix.Stat_t) (made bool, err error) {
	e := x.e
	l := e.loc(rel)
	fd, err := openNoatime(sfd, sname, unix.O_NONBLOCK)
	if err != nil {
		if vanished(err) {
			return false, nil
		}
		return false, srcError("opening", l.src(), err)
	}
	defer unix.Close(fd)
	if err := unix.Fstat(fd, st); err != nil {
		return false, srcError("examining", l.src(), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Dev != e.dev {
		return false, nil
	}
	perm := st.Mode & 0o777
	out, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	if err != nil {
		return false, dstError("creating", e.dstPath(rel), err)
	}
	if _, err := e.fillFile(x.w, fd, out, st, perm, l); err != nil {
		unix.Close(out)
		return false, err
	}
	if err := unix.Close(out); err != nil {
		return false, dstError("writing", l.dst(), err)
	}
	e.st.files.Add(1)
	e.st.entries.Add(1)
	return true, nil
}

// specialTo makes tmp in dfd a copy of the link, device or fifo sname of
// sfd (status st), with its metadata.
func (x *Entries) specialTo(sfd int, sname string, dfd int, tmp, rel string, st *unix.Stat_t) (bool, error) {
	e := x.e
	full := e.srcPath(rel)
	a, err := readMeta(st, -1, sfd, sname, full, &x.w.xbuf)
	if err != nil {
		if vanished(err) {
			return false, nil
		}
		return false, srcError("reading the attributes of", full, err)
	}
	var target string
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		if target, err = readlinkAt(sfd, sname, &x.w.xbuf); err != nil {
			if vanished(err) || err == unix.EINVAL {
				return false, nil
			}
			return false, srcError("reading the symbolic link", full, err)
		}
	}
	if err := e.makeSpecial(dfd, tmp, e.dstPath(rel), st, target); err != nil {
		return false, err
	}
	if err := e.setMeta(metaTarget{fd: -1, dirfd: dfd, name: tmp, at: e.loc(rel)}, &a, true, &x.w.xbuf); err != nil {
		return false, err
	}
	var post unix.Stat_t
	if err := unix.Fstatat(sfd, sname, &post, unix.AT_SYMLINK_NOFOLLOW); err != nil || post.Ino != st.Ino || post.Ctim != st.Ctim {
		// Changed while copied: what was copied is older than the
		// source; the status recorded says so, the next sync copies it.
		st.Ctim = unix.Timespec{Sec: -1}
	}
	e.count(st.Mode)
	return true, nil
}

// Link makes the target entry rel a hard link to the target entry to
// (both relative to the target root), replacing what rel is.
func (x *Entries) Link(to, rel string) error {
	tparent, tname := splitRel(to)
	tfd, err := openBeneath(x.e.dstFd, tparent, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return dstError("opening the directory", x.e.dstPath(tparent), err)
	}
	defer unix.Close(tfd)
	_, err = x.inDirs(rel, false, func(_, dfd int, _, name string) error {
		tmp := tmpName(name)
		if err := unix.Linkat(tfd, tname, dfd, tmp, 0); err != nil {
			return dstError("linking "+x.e.dstPath(to)+" to", x.e.dstPath(rel), err)
		}
		x.e.st.hardLinks.Add(1)
		x.e.st.entries.Add(1)
		return x.renameOver(dfd, tmp, name, rel)
	})
	return err
}

// Rename moves the target entry from to rel (a file renamed on the
// source side, whose copy is still what it was).
func (x *Entries) Rename(from, rel string) error {
	fparent, fname := splitRel(from)
	ffd, err := openBeneath(x.e.dstFd, fparent, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return dstError("opening the directory", x.e.dstPath(fparent), err)
	}
	defer unix.Close(ffd)
	_, err = x.inDirs(rel, false, func(_, dfd int, _, name string) error {
		if err := unix.Renameat(ffd, fname, dfd, name); err != nil {
			return dstError("renaming "+x.e.dstPath(from)+" to", x.e.dstPath(rel), err)
		}
		return nil
	})
	return err
}

// Meta gives the target entry rel the metadata the source entry rel has
// now (owner, mode, extended attributes, times), when they are of the
// same type. It returns the source status used; ok false when the source
// vanished or changed type.
func (x *Entries) Meta(rel string) (st unix.Stat_t, ok bool, err error) {
	e := x.e
	ok, err = x.inDirs(rel, true, func(sfd, dfd int, _, name string) error {
		if rel == "" {
			name = "."
		}
		var d unix.Stat_t
		if err := unix.Fstatat(sfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if vanished(err) {
				return errVanished
			}
			return srcError("examining", e.srcPath(rel), err)
		}
		if err := unix.Fstatat(dfd, name, &d, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return dstError("examining", e.dstPath(rel), err)
		}
		if st.Mode&unix.S_IFMT != d.Mode&unix.S_IFMT {
			return errVanished
		}
		return e.syncMeta(x.w, sfd, dfd, rel, name, &st, &d)
	})
	if err == errVanished {
		return st, false, nil
	}
	return st, ok && err == nil, err
}

// SetTimes sets the access and modification times of the target entry
// rel (a directory whose entries the caller changed).
func (x *Entries) SetTimes(rel string, ts [2]unix.Timespec) error {
	_, err := x.inDirs(rel, false, func(_, dfd int, _, name string) error {
		if rel == "" {
			name = "."
		}
		if err := unix.UtimesNanoAt(dfd, name, ts[:], unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return dstError("setting the times of", x.e.dstPath(rel), err)
		}
		return nil
	})
	return err
}

// Remove removes the target entry rel with everything below it.
func (x *Entries) Remove(rel string) error {
	_, err := x.inDirs(rel, false, func(_, dfd int, _, name string) error {
		return x.e.remove(dfd, name, rel)
	})
	return err
}

// RemoveEmpty removes the target entry rel, a directory only if it is
// empty: removed is false for a directory that still holds entries.
func (x *Entries) RemoveEmpty(rel string) (removed bool, err error) {
	_, err = x.inDirs(rel, false, func(_, dfd int, _, name string) error {
		err := unix.Unlinkat(dfd, name, 0)
		if err == unix.EISDIR || err == unix.EPERM {
			err = unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR)
		}
		switch err {
		case nil, unix.ENOENT:
			removed = true
			x.e.st.removed.Add(1)
			return nil
		case unix.ENOTEMPTY, unix.EEXIST:
			return nil
		}
		return dstError("removing", x.e.dstPath(rel), err)
	})
	return removed, err
}

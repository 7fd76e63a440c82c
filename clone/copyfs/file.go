package copyfs

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// chunk is the most one copy_file_range or sendfile call moves: big enough
// for throughput, small enough that a cancel is seen within a fraction of a
// second.
const chunk = 8 << 20

// copyFiles copies a batch of regular files of the directory rel (inode
// dirIno).
func (e *engine) copyFiles(w *worker, rel string, dirIno uint64, ents []dirent) error {
	sfd, st, err := e.openSrcDirStat(rel, whileCopying)
	if sfd < 0 {
		return err
	}
	defer unix.Close(sfd)
	if st.Ino != dirIno || st.Dev != e.dev {
		e.logf("%s was replaced while copying: the second pass catches it", e.srcPath(rel))
		return nil
	}
	dfd, err := openBeneath(e.dstFd, rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return dstError("opening the directory", e.dstPath(rel), err)
	}
	defer unix.Close(dfd)
	for _, de := range ents {
		if e.ctx.Err() != nil {
			return nil
		}
		if err := e.copyFile(w, sfd, dfd, rel, de.name); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies the regular file name of the open source directory sfd
// into the open target directory dfd: its data with its holes, then its
// metadata. A second name of a multiply-linked inode becomes a hard link.
// If the file changes while it is copied it is copied again (twice at most;
// after that the second pass catches it).
func (e *engine) copyFile(w *worker, sfd, dfd int, rel, name string) error {
	crel := joinRel(rel, name)
	l := e.loc(crel)
	// Look before opening: opening a device node that replaced the file in
	// the meantime could have effects (a tape rewinds).
	var st unix.Stat_t
	if err := unix.Fstatat(sfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if vanished(err) {
			e.logf("%s vanished while copying: the second pass catches it", l.src())
			return nil
		}
		return srcError("examining", l.src(), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return e.copyOther(w, sfd, dfd, rel, name)
	}
	fd, err := openNoatime(sfd, name, unix.O_NONBLOCK)
	if err != nil {
		if vanished(err) {
			e.logf("%s vanished while copying: the second pass catches it", l.src())
			return nil
		}
		return srcError("opening", l.src(), err)
	}
	defer unix.Close(fd)
	if err := unix.Fstat(fd, &st); err != nil {
		return srcError("examining", l.src(), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Dev != e.dev {
		e.logf("%s changed type while copying: the second pass catches it", l.src())
		return nil
	}

	le, done, err := e.claimLink(dfd, crel, name, &st)
	if done || err != nil {
		return err
	}
	defer le.release()

	perm := st.Mode & 0o777
	out, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	if err != nil {
		if err == unix.EEXIST {
			return dstError("creating", l.dst(), errors.New("it exists already: the target must be empty"))
		}
		return dstError("creating", l.dst(), err)
	}
	le.created(crel)
	_, err = e.fillFile(w, fd, out, &st, perm, l)
	if err != nil {
		unix.Close(out)
		return err
	}
	var dst unix.Stat_t
	if e.incremental && st.Nlink > 1 {
		if err := unix.Fstat(out, &dst); err != nil {
			unix.Close(out)
			return dstError("examining", l.dst(), err)
		}
	}
	if err := unix.Close(out); err != nil {
		return dstError("writing", l.dst(), err)
	}
	e.st.files.Add(1)
	e.st.entries.Add(1)
	if e.incremental && st.Nlink > 1 {
		e.addLinkRec(crel, st.Ino, dst.Ino)
	}
	return nil
}

// fillFile writes the data and metadata of the open source file fd (whose
// status st is) into the fresh target file out (created with permissions
// perm), again while the source changes under it. It returns the data bytes
// copied.
func (e *engine) fillFile(w *worker, fd, out int, st *unix.Stat_t, perm uint32, l loc) (int64, error) {
	var total int64
	for attempt := 1; ; attempt++ {
		a, err := readMeta(st, fd, -1, "", "", &w.xbuf)
		if err != nil {
			return total, srcError("reading the attributes of", l.src(), err)
		}
		n, err := e.copyData(w, fd, out, st.Size, l)
		total += n
		if err != nil {
			return total, err
		}
		t := metaTarget{fd: out, at: l, modeSet: e.createdWith(perm, &a)}
		if err := e.setMeta(t, &a, e.incremental, &w.xbuf); err != nil {
			return total, err
		}
		// Any change of the source after this check gets a status change
		// time at or after the target's: Sync sees it.
		var post unix.Stat_t
		if err := unix.Fstat(fd, &post); err != nil {
			return total, srcError("examining", l.src(), err)
		}
		if post.Ctim == st.Ctim && post.Size == st.Size && post.Mtim == st.Mtim {
			return total, nil
		}
		if attempt == 3 || e.ctx.Err() != nil {
			e.logf("%s keeps changing while copying: the second pass catches it", l.src())
			return total, nil
		}
		*st = post
		if err := unix.Ftruncate(out, 0); err != nil {
			return total, dstError("truncating", l.dst(), err)
		}
		if _, err := unix.Seek(out, 0, 0); err != nil {
			return total, dstError("truncating", l.dst(), err)
		}
	}
}

// createdWith tells whether a fresh file created with permissions perm has
// the mode a wants already, so that no chmod is needed: no setuid, setgid or
// sticky bit, nothing taken away by the umask, no ACL to set (it changes the
// mode), and (in a Sync) no default ACL of the directory that applied.
func (e *engine) createdWith(perm uint32, a *attrs) bool {
	if e.incremental || e.umask < 0 || a.mode&07777 != perm || perm&^uint32(e.umask) != perm {
		return false
	}
	_, acl := findXattr(a.xattrs, "system.posix_acl_access")
	return !acl
}

// copyData copies the data of the source file fd (size bytes) into out,
// extent by extent as SEEK_DATA/SEEK_HOLE show them, so holes stay holes.
// It returns the bytes copied, fewer than size when the source shrank.
func (e *engine) copyData(w *worker, fd, out int, size int64, l loc) (int64, error) {
	if size == 0 {
		return 0, nil
	}
	firstHole, err := unix.Seek(fd, 0, unix.SEEK_HOLE)
	if err != nil || firstHole >= size {
		// No hole (or a file system that cannot tell): one extent.
		n, err := e.copyRange(w, fd, out, 0, size, l)
		return n, err
	}
	// The size first: no write then extends the file, so a file system
	// that preallocates beyond the end of a growing file (xfs) does not
	// leave those blocks in the holes.
	if err := unix.Ftruncate(out, size); err != nil {
		return 0, dstError("writing", l.dst(), err)
	}
	var total int64
	for off := int64(0); off < size; {
		data, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break // only a hole is left
		}
		if err != nil {
			return total, srcError("finding the data of", l.src(), err)
		}
		if data >= size {
			break
		}
		hole, err := unix.Seek(fd, data, unix.SEEK_HOLE)
		if err != nil {
			return total, srcError("finding the holes of", l.src(), err)
		}
		hole = min(hole, size)
		n, err := e.copyRange(w, fd, out, data, hole-data, l)
		total += n
		if err != nil {
			return total, err
		}
		if n < hole-data {
			return total, nil // the source shrank; the check after the copy sees it
		}
		off = hole
	}
	return total, nil
}

// copyRange copies n bytes at off from fd to the same offset of out:
// in-kernel with copy_file_range (same file system, reflinks) or sendfile
// (across file systems: one copy, page cache to page cache, instead of two),
// else by reading and writing.
func (e *engine) copyRange(w *worker, fd, out int, off, n int64, l loc) (int64, error) {
	var done int64
	if e.cfr.Load() >= 0 {
		for done < n {
			if err := e.ctx.Err(); err != nil {
				return done, err
			}
			soff, doff := off+done, off+done
			k, err := unix.CopyFileRange(fd, &soff, out, &doff, int(min(n-done, chunk)), 0)
			if err != nil {
				if done == 0 && refused(err) {
					e.cfr.Store(-1)
					break
				}
				return done, copyError(l, err)
			}
			e.cfr.Store(1)
			if k == 0 {
				return done, nil // end of the source
			}
			done += int64(k)
			e.st.bytes.Add(int64(k))
		}
		if done == n {
			return done, nil
		}
	}
	if n-done >= directMin && e.direct.Load() >= 0 {
		k, err := e.copyDirect(w, fd, out, off+done, n-done, l)
		done += k
		if err != nil || done == n {
			return done, err
		}
	}
	if e.sendf.Load() >= 0 {
		// sendfile writes at the file position of out: a fresh file is at
		// 0, else (after a hole, on a retry) move it.
		if off+done != 0 {
			if _, err := unix.Seek(out, off+done, 0); err != nil {
				return done, dstError("writing", l.dst(), err)
			}
		}
		start := done
		for done < n {
			if err := e.ctx.Err(); err != nil {
				return done, err
			}
			soff := off + done
			k, err := unix.Sendfile(out, fd, &soff, int(min(n-done, chunk)))
			if err != nil {
				if done == start && refused(err) {
					e.sendf.Store(-1)
					break
				}
				return done, copyError(l, err)
			}
			if k == 0 {
				return done, nil
			}
			done += int64(k)
			e.st.bytes.Add(int64(k))
		}
		if done == n {
			return done, nil
		}
	}
	for done < n {
		if err := e.ctx.Err(); err != nil {
			return done, err
		}
		want := int(min(n-done, int64(len(w.data))))
		k, err := unix.Pread(fd, w.data[:want], off+done)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, srcError("reading", l.src(), err)
		}
		if k == 0 {
			return done, nil
		}
		if err := pwriteAll(out, w.data[:k], off+done, l); err != nil {
			return done, err
		}
		done += int64(k)
		e.st.bytes.Add(int64(k))
	}
	return done, nil
}

// pwriteAll writes all of buf to out at off.
func pwriteAll(out int, buf []byte, off int64, l loc) error {
	for written := 0; written < len(buf); {
		m, err := unix.Pwrite(out, buf[written:], off+int64(written))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return dstError("writing", l.dst(), err)
		}
		written += m
	}
	return nil
}

// directMin is the extent size from which the source is read with
// O_DIRECT: big requests straight from the disk into the buffer, none of
// the page cache work (and no eviction of the live system's cache).
const directMin = 1 << 20

// copyDirect copies n bytes at off (a multiple of the block size) reading
// with O_DIRECT. It returns what it copied; with nothing copied and no
// error, O_DIRECT is not possible here and the caller goes on another way.
func (e *engine) copyDirect(w *worker, fd, out int, off, n int64, l loc) (int64, error) {
	buf := w.data
	if uintptr(unsafe.Pointer(&buf[0]))%4096 != 0 || off%4096 != 0 {
		return 0, nil
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return 0, nil
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, flags|unix.O_DIRECT); err != nil {
		e.direct.Store(-1)
		return 0, nil
	}
	defer unix.FcntlInt(uintptr(fd), unix.F_SETFL, flags)
	var done int64
	for done < n {
		if err := e.ctx.Err(); err != nil {
			return done, err
		}
		want := min(n-done, int64(len(buf)))
		k, err := unix.Pread(fd, buf[:(want+4095)&^4095], off+done)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EINVAL && done == 0 {
			e.direct.Store(-1)
			return 0, nil
		}
		if err != nil {
			return done, srcError("reading", l.src(), err)
		}
		k = int(min(int64(k), want))
		if k == 0 {
			return done, nil
		}
		if err := pwriteAll(out, buf[:k], off+done, l); err != nil {
			return done, err
		}
		done += int64(k)
		e.st.bytes.Add(int64(k))
		if int64(k) < want {
			return done, nil // short: the caller goes on without O_DIRECT
		}
	}
	return done, nil
}

// refused tells whether an in-kernel copy call is not possible between these
// two files (rather than failed): then the next method is tried.
func refused(err error) bool {
	switch err {
	case unix.EXDEV, unix.EINVAL, unix.ENOSYS, unix.EOPNOTSUPP, unix.EBADF:
		return true
	}
	return false
}

func copyError(l loc, err error) error {
	if isFull(err) {
		return &fullError{path: l.dst(), err: err}
	}
	return fmt.Errorf("copying %s to %s: %w (check both disks and the kernel log)", l.src(), l.dst(), err)
}

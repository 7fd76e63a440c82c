package copyfs

import (
	"golang.org/x/sys/unix"
)

// attrs is the metadata of one entry that the copy reproduces.
type attrs struct {
	mode   uint32 // st_mode, with the type bits
	uid    uint32
	gid    uint32
	times  [2]unix.Timespec // access, modification
	xattrs []xattr
}

func attrsOf(st *unix.Stat_t) attrs {
	return attrs{mode: st.Mode, uid: st.Uid, gid: st.Gid, times: [2]unix.Timespec{st.Atim, st.Mtim}}
}

// sameAttrs tells whether two entries agree on everything attrs holds.
func sameAttrs(a, b attrs) bool {
	return a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.times == b.times && equalXattrs(a.xattrs, b.xattrs)
}

// metaTarget is an entry of the target whose metadata is being set: an open
// file (regular files and directories) or a name in an open directory
// (symbolic links, device nodes, fifos).
type metaTarget struct {
	fd    int    // open file, or -1
	dirfd int    // with name, when fd is -1
	name  string //
	at    loc    // for messages, and as the fallback path without /proc
	// modeSet: the entry was created with its final mode already (a fresh
	// regular file, no special bits, nothing the umask removed, no ACL).
	modeSet bool
}

// setMeta gives the target the owner, extended attributes, mode and times of
// a, in the order that keeps each: chown first (it clears setuid, setgid and
// security.capability), then the attributes, then chmod, then the times.
// With reconcile the target may already carry attributes (an inherited ACL,
// an older copy) and ownership is always set.
func (e *engine) setMeta(t metaTarget, a *attrs, reconcile bool, buf *[]byte) error {
	typ := a.mode & unix.S_IFMT
	if reconcile || a.uid != e.uid || a.gid != e.gid {
		var err error
		if t.fd >= 0 {
			err = unix.Fchown(t.fd, int(a.uid), int(a.gid))
		} else {
			err = unix.Fchownat(t.dirfd, t.name, int(a.uid), int(a.gid), unix.AT_SYMLINK_NOFOLLOW)
		}
		if err != nil {
			return dstError("setting the owner of", t.at.dst(), err)
		}
	}
	if len(a.xattrs) > 0 || reconcile {
		x := xattrIO{fd: t.fd}
		if t.fd < 0 {
			x.path = atPath(t.dirfd, t.name, t.at.dst())
		}
		if err := writeXattrs(x, a.xattrs, reconcile, buf); err != nil {
			return dstError("copying attributes to", t.at.dst(), err)
		}
	}
	if typ != unix.S_IFLNK && !t.modeSet { // the mode of a symbolic link cannot be set on Linux
		var err error
		if t.fd >= 0 {
			err = unix.Fchmod(t.fd, a.mode&07777)
		} else {
			err = unix.Fchmodat(t.dirfd, t.name, a.mode&07777, 0)
		}
		if err != nil {
			return dstError("setting the mode of", t.at.dst(), err)
		}
	}
	var err error
	if t.fd >= 0 {
		err = futimens(t.fd, &a.times)
	} else {
		err = unix.UtimesNanoAt(t.dirfd, t.name, a.times[:], unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return dstError("setting the times of", t.at.dst(), err)
	}
	return nil
}

// readMeta reads the attrs of an entry of the source or target: through fd
// when it is open, else through the name in dirfd.
func readMeta(st *unix.Stat_t, fd, dirfd int, name, full string, buf *[]byte) (attrs, error) {
	a := attrsOf(st)
	x := xattrIO{fd: fd}
	if fd < 0 {
		x.path = atPath(dirfd, name, full)
	}
	xs, err := readXattrs(x, buf)
	if err != nil {
		return a, err
	}
	a.xattrs = xs
	return a, nil
}

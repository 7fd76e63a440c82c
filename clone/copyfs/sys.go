package copyfs

import (
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file holds the thin wrappers around system calls that x/sys/unix does
// not offer in the shape the engine needs: opening a directory below a root
// without following symbolic links, reading a directory in big batches with
// inode numbers and types, and setting nanosecond times on an open file.

// openat2Missing is set once openat2(2) turned out to be unavailable (kernels
// before 5.6); opens then walk the path one component at a time.
var openat2Missing atomic.Bool

// openBeneath opens rel (a clean relative path, "" for the root itself) below
// the directory root without following any symbolic link on the way, so a
// symbolic link copied into the target, or planted in the source while it is
// read, never leads outside the tree.
func openBeneath(root int, rel string, flags int) (int, error) {
	flags |= unix.O_CLOEXEC | unix.O_NOFOLLOW
	if rel == "" {
		return unix.Openat(root, ".", flags, 0)
	}
	if !openat2Missing.Load() && len(rel) < 3500 {
		how := unix.OpenHow{Flags: uint64(flags), Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS}
		fd, err := unix.Openat2(root, rel, &how)
		if err != unix.ENOSYS && err != unix.EPERM {
			// EPERM: seccomp filters of some container runtimes refuse
			// openat2; walk instead.
			return fd, err
		}
		if err == unix.ENOSYS {
			openat2Missing.Store(true)
		}
	}
	return walkBeneath(root, rel, flags)
}

// walkBeneath opens rel one component at a time with O_NOFOLLOW.
func walkBeneath(root int, rel string, flags int) (int, error) {
	dir := root
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		f := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(parts)-1 {
			f = flags
		}
		fd, err := unix.Openat(dir, p, f, 0)
		if dir != root {
			unix.Close(dir)
		}
		if err != nil {
			return -1, err
		}
		dir = fd
	}
	return dir, nil
}

// openNoatime opens name in dir for reading without changing its access
// time; O_NOATIME needs ownership or CAP_FOWNER, so it retries without.
func openNoatime(dir int, name string, flags int) (int, error) {
	flags |= unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW
	fd, err := unix.Openat(dir, name, flags|unix.O_NOATIME, 0)
	if err == unix.EPERM {
		fd, err = unix.Openat(dir, name, flags, 0)
	}
	return fd, err
}

// dirent is one entry of a directory as getdents64(2) returns it.
type dirent struct {
	name string
	ino  uint64
	typ  uint8 // unix.DT_*
}

// readDir returns every entry of the open directory fd except "." and "..",
// reading in batches as big as buf.
func readDir(fd int, buf []byte) ([]dirent, error) {
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		return nil, err
	}
	var out []dirent
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return out, nil
		}
		var perr error
		out, perr = parseDirents(buf[:n], out)
		if perr != nil {
			return nil, perr
		}
	}
}

// ReadNames lists the names of the open directory fd (getdents64) in
// directory order, without "." and "..", reading in batches as big as
// buf. clone/imagesync's walk reads its directories with it.
func ReadNames(fd int, buf []byte) ([]string, error) {
	ents, err := readDir(fd, buf)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.name
	}
	return names, nil
}

// errBadDirent reports a getdents64 buffer that does not parse.
var errBadDirent = errors.New("malformed directory entry from getdents64")

// parseDirents appends the linux_dirent64 records in b to out.
func parseDirents(b []byte, out []dirent) ([]dirent, error) {
	const hdr = 19 // d_ino (8) + d_off (8) + d_reclen (2) + d_type (1)
	for len(b) > 0 {
		if len(b) < hdr {
			return out, errBadDirent
		}
		reclen := int(*(*uint16)(unsafe.Pointer(&b[16])))
		if reclen < hdr || reclen > len(b) {
			return out, errBadDirent
		}
		ino := *(*uint64)(unsafe.Pointer(&b[0]))
		typ := b[18]
		name := b[hdr:reclen]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		b = b[reclen:]
		if len(name) == 0 || (len(name) == 1 && name[0] == '.') || (len(name) == 2 && name[0] == '.' && name[1] == '.') {
			continue
		}
		out = append(out, dirent{name: string(name), ino: ino, typ: typ})
	}
	return out, nil
}

// futimens sets the access and modification times of an open file to the
// nanosecond (utimensat with a NULL path, as futimens(3) does).
func futimens(fd int, ts *[2]unix.Timespec) error {
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(ts)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// procOK tells whether /proc/self/fd can name an entry relative to an open
// directory; then the l*xattr calls use it instead of a full path.
var procOK = func() bool {
	var st unix.Stat_t
	return unix.Stat("/proc/self/fd", &st) == nil
}()

// atPath names the entry name of the open directory dirfd for the path-only
// calls (the l*xattr family). full is the fallback when /proc is missing.
func atPath(dirfd int, name, full string) string {
	if procOK {
		return "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + name
	}
	return full
}

// joinRel joins a relative directory path and an entry name.
func joinRel(rel, name string) string {
	if rel == "" {
		return name
	}
	return rel + "/" + name
}

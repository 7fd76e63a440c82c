package artifact

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Bounds of Unpack.
const (
	MaxEntries        = 1 << 26 // entries of one member
	MaxNameLen        = 4095
	MaxXattrs         = 256 // extended attributes of one entry
	MaxXattrValue     = 64 << 10
	MaxSparseSegments = 1 << 16
	MaxFileSize       = 1 << 44
)

// UnpackOptions of an Unpack.
type UnpackOptions struct {
	// Progress, if set, is called after each entry with the counts so far.
	Progress func(PackStats)
	// Delta applies a delta (PackOptions.Base) over dst, a copy of its
	// base: entries may go into directories dst has (never through a
	// link), replace what is there, and whiteouts remove names.
	Delta bool
}

// Unpack writes the tar that Pack wrote, read from r, into the directory
// dst: normally the root of a freshly made file system (directories there,
// such as lost+found, are taken as they are; anything else the archive
// also holds is an error). r is hostile input: every name must be relative, clean and
// free of "..", its parent must be a directory that the archive made
// before, no path is followed through a symbolic link (the archive's own
// links are stored, never used), an entry cannot be written twice, and a
// hard link can only name a regular file unpacked before.
//
// Directories get their owner, attributes, mode and times last, once
// their contents are in.
func Unpack(ctx context.Context, r io.Reader, dst string, opt UnpackOptions) (PackStats, error) {
	rootfd, err := unix.Open(dst, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return PackStats{}, fmt.Errorf("unpacking into %s: %w", dst, err)
	}
	defer unix.Close(rootfd)
	u := &unpacker{ctx: ctx, dst: dst, root: rootfd, files: map[string]bool{}, dirs: map[string]bool{".": true}, opt: opt, pfd: -1}
	defer u.forgetParent()
	err = u.run(tar.NewReader(r))
	return u.stats, err
}

type unpacker struct {
	ctx     context.Context
	dst     string
	root    int
	files   map[string]bool // entries unpacked other than directories: the only link targets
	dirs    map[string]bool // directories unpacked
	pending []*tar.Header   // directories whose metadata comes last
	opt     UnpackOptions
	stats   PackStats
	sawRoot bool
	buf     []byte // for copying file data
	// pdir is the directory of the last entry, open as pfd: the archive
	// lists a directory's entries together, and opening it once for them
	// all saves two system calls an entry. A whiteout forgets it.
	pdir string
	pfd  int
}

func (u *unpacker) run(tr *tar.Reader) error {
	for {
		if err := u.ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("unpacking into %s: reading the archive: %w", u.dst, err)
		}
		if u.stats.Entries++; u.stats.Entries > MaxEntries {
			return fmt.Errorf("unpacking into %s: more than %d entries", u.dst, MaxEntries)
		}
		if err := u.entry(hdr, tr); err != nil {
			return fmt.Errorf("unpacking %q into %s: %w", hdr.Name, u.dst, err)
		}
		if u.opt.Progress != nil {
			u.opt.Progress(u.stats)
		}
	}
	for i := len(u.pending) - 1; i >= 0; i-- {
		hdr := u.pending[i]
		if err := u.dirMeta(hdr); err != nil {
			return fmt.Errorf("unpacking %q into %s: %w", hdr.Name, u.dst, err)
		}
	}
	return nil
}

// checkName accepts a clean relative name without "..".
func checkName(name string) error {
	if name == "" || name == "." || len(name) > MaxNameLen || strings.ContainsRune(name, 0) {
		return fmt.Errorf("bad name")
	}
	if strings.HasPrefix(name, "/") || path.Clean(name) != name {
		return fmt.Errorf("name is absolute or not clean")
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return fmt.Errorf("name leads out with \"..\"")
		}
	}
	return nil
}

// splitParent splits name into its directory, which must be one the
// archive made, and its last element.
func (u *unpacker) splitParent(name string) (string, string, error) {
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		dir = "."
	}
	if !u.dirs[dir] && !u.opt.Delta {
		return "", "", fmt.Errorf("its directory %q is not in the archive before it", dir)
	}
	return dir, base, nil
}

// parent returns the directory holding name, open (the unpacker's: not to
// be closed), and the last element of name.
func (u *unpacker) parent(name string) (int, string, error) {
	dir, base, err := u.splitParent(name)
	if err != nil {
		return -1, "", err
	}
	if u.pfd >= 0 && u.pdir == dir {
		return u.pfd, base, nil
	}
	fd, err := u.openDir(dir)
	if err != nil {
		return -1, "", err
	}
	u.forgetParent()
	u.pdir, u.pfd = dir, fd
	return fd, base, nil
}

// forgetParent closes the directory parent keeps open.
func (u *unpacker) forgetParent() {
	if u.pfd >= 0 {
		unix.Close(u.pfd)
	}
	u.pdir, u.pfd = "", -1
}

// openParent opens the directory holding name, which must be one the
// archive made, for the caller to close; no link is followed on the way.
func (u *unpacker) openParent(name string) (int, string, error) {
	dir, base, err := u.splitParent(name)
	if err != nil {
		return -1, "", err
	}
	fd, err := u.openDir(dir)
	return fd, base, err
}

// openDir opens the directory dir of the target, following no link.
func (u *unpacker) openDir(dir string) (int, error) {
	fd, err := unix.Openat2(u.root, dir, &unix.OpenHow{
		Flags:   unix.O_DIRECTORY | unix.O_RDONLY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
	if err != nil {
		return -1, fmt.Errorf("opening its directory: %w", err)
	}
	return fd, nil
}

type xattrRec struct {
	name  string
	value string
}

// headerXattrs takes the extended attributes of an entry, bounded.
func headerXattrs(hdr *tar.Header) ([]xattrRec, error) {
	var xs []xattrRec
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, paxXattr)
		if !ok {
			continue
		}
		if name == "" || len(name) > 255 || len(v) > MaxXattrValue {
			return nil, fmt.Errorf("extended attribute %q out of bounds", name)
		}
		if xs = append(xs, xattrRec{name, v}); len(xs) > MaxXattrs {
			return nil, fmt.Errorf("more than %d extended attributes", MaxXattrs)
		}
	}
	return xs, nil
}

// sparseMap reads a sparse file's real size and data segments, checking
// that the segments are in order, do not overlap, stay within the size and
// add up to the entry's data.
func sparseMap(hdr *tar.Header) (int64, [][2]int64, error) {
	sizeRec, hasSize := hdr.PAXRecords[paxSparseSize]
	mapRec, hasMap := hdr.PAXRecords[paxSparseMap]
	if !hasSize && !hasMap {
		return hdr.Size, [][2]int64{{0, hdr.Size}}, nil
	}
	size, err := strconv.ParseInt(sizeRec, 10, 64)
	if err != nil || size < 0 || size > MaxFileSize || !hasMap {
		return 0, nil, fmt.Errorf("bad sparse size %q", sizeRec)
	}
	var fields []string
	if mapRec != "" {
		fields = strings.Split(mapRec, ",")
	}
	if len(fields)%2 != 0 || len(fields)/2 > MaxSparseSegments {
		return 0, nil, fmt.Errorf("bad sparse map")
	}
	segs := make([][2]int64, 0, len(fields)/2)
	var end, data int64
	for i := 0; i < len(fields); i += 2 {
		off, err1 := strconv.ParseInt(fields[i], 10, 64)
		n, err2 := strconv.ParseInt(fields[i+1], 10, 64)
		if err1 != nil || err2 != nil || off < end || n <= 0 || n > size || off > size-n {
			return 0, nil, fmt.Errorf("bad sparse map: segment %s,%s", fields[i], fields[i+1])
		}
		segs = append(segs, [2]int64{off, n})
		end, data = off+n, data+n
	}
	if data != hdr.Size {
		return 0, nil, fmt.Errorf("sparse map holds %d bytes, the entry %d", data, hdr.Size)
	}
	return size, segs, nil
}

func (u *unpacker) entry(hdr *tar.Header, tr *tar.Reader) error {
	name := strings.TrimSuffix(hdr.Name, "/")
	if hdr.Typeflag == tar.TypeDir && name == "." {
		if u.sawRoot {
			return fmt.Errorf("the root appears twice")
		}
		u.sawRoot = true
		if _, err := headerXattrs(hdr); err != nil {
			return err
		}
		hdr.Name = "."
		u.pending = append(u.pending, hdr)
		return nil
	}
	if err := checkName(name); err != nil {
		return err
	}
	hdr.Name = name
	if hdr.Mode < 0 || hdr.Mode > 07777 || hdr.Uid < 0 || hdr.Gid < 0 || hdr.Uid > 1<<32-2 || hdr.Gid > 1<<32-2 {
		return fmt.Errorf("bad mode or owner")
	}
	if _, err := headerXattrs(hdr); err != nil {
		return err
	}
	pfd, base, err := u.parent(name)
	if err != nil {
		return err
	}
	if _, ok := hdr.PAXRecords[paxWhiteout]; ok {
		if !u.opt.Delta || hdr.Typeflag != tar.TypeReg || hdr.Size != 0 {
			return fmt.Errorf("a whiteout outside a delta")
		}
		err := remove(pfd, base)
		// the name may have been a directory that parent keeps open, and
		// a later entry may make another one under that name
		u.forgetParent()
		return err
	}
	if u.opt.Delta && hdr.Typeflag != tar.TypeDir {
		// the new entry replaces what the base had; a directory in the
		// way was removed by whiteouts first, or this fails
		if err := unix.Unlinkat(pfd, base, 0); err != nil && err != unix.ENOENT {
			return fmt.Errorf("replacing it: %w", err)
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if u.dirs[name] {
			return fmt.Errorf("the directory appears twice")
		}
		err := unix.Mkdirat(pfd, base, 0o700)
		if err == unix.EEXIST {
			// made by mkfs (lost+found) or by the importer (its record's
			// directory): a directory, not a link, is taken as it is
			var st unix.Stat_t
			if unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
				err = nil
			}
		}
		if err != nil {
			return err
		}
		u.dirs[name] = true
		u.pending = append(u.pending, hdr)
		return nil
	case tar.TypeReg:
		return u.regular(hdr, tr, pfd, base)
	case tar.TypeLink:
		lname := hdr.Linkname
		if checkName(lname) != nil || !u.files[lname] {
			return fmt.Errorf("hard link to %q, which is no file unpacked before", lname)
		}
		lfd, lbase, err := u.openParent(lname)
		if err != nil {
			return err
		}
		defer unix.Close(lfd)
		return unix.Linkat(lfd, lbase, pfd, base, 0)
	case tar.TypeSymlink:
		if hdr.Linkname == "" || len(hdr.Linkname) > MaxNameLen || strings.ContainsRune(hdr.Linkname, 0) {
			return fmt.Errorf("bad link target")
		}
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return err
		}
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		typ := uint32(unix.S_IFIFO)
		dev := 0
		if hdr.Typeflag != tar.TypeFifo {
			if hdr.Devmajor < 0 || hdr.Devminor < 0 || hdr.Devmajor > 1<<12-1 || hdr.Devminor > 1<<20-1 {
				return fmt.Errorf("bad device number")
			}
			typ = unix.S_IFCHR
			if hdr.Typeflag == tar.TypeBlock {
				typ = unix.S_IFBLK
			}
			dev = int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
		}
		if err := unix.Mknodat(pfd, base, typ|0o600, dev); err != nil {
			return err
		}
	default:
		return fmt.Errorf("entry type %q is not one drd writes", hdr.Typeflag)
	}
	u.files[name] = true
	return u.meta(hdr, -1, pfd, base)
}

func (u *unpacker) regular(hdr *tar.Header, tr *tar.Reader, pfd int, base string) error {
	size, segs, err := sparseMap(hdr)
	if err != nil {
		return err
	}
	if hdr.Size < 0 || hdr.Size > MaxFileSize {
		return fmt.Errorf("bad size %d", hdr.Size)
	}
	fd, err := unix.Openat(pfd, base, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if size != hdr.Size { // holes: the size first, then the data segments
		if err := unix.Ftruncate(fd, size); err != nil {
			return fmt.Errorf("setting its size: %w", err)
		}
	}
	if u.buf == nil {
		u.buf = make([]byte, 256<<10)
	}
	for _, s := range segs {
		off, left := s[0], s[1]
		for left > 0 {
			n, err := io.ReadFull(tr, u.buf[:min(left, int64(len(u.buf)))])
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return fmt.Errorf("the archive ends inside the file")
			}
			if err != nil {
				return err
			}
			if err := pwriteAll(fd, u.buf[:n], off); err != nil {
				return fmt.Errorf("writing its data: %w", err)
			}
			off, left = off+int64(n), left-int64(n)
			u.stats.Bytes += int64(n)
		}
	}
	u.files[hdr.Name] = true
	return u.meta(hdr, fd, -1, "")
}

// pwriteAll writes b to fd at off.
func pwriteAll(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := unix.Pwrite(fd, b, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// meta gives an entry its owner, extended attributes, mode and times, in
// that order (chown clears setuid, setgid and security.capability): through
// fd when open, else through its name in the directory pfd, not following
// a link.
func (u *unpacker) meta(hdr *tar.Header, fd, pfd int, base string) error {
	var err error
	if fd >= 0 {
		err = unix.Fchown(fd, hdr.Uid, hdr.Gid)
	} else {
		err = unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return fmt.Errorf("setting the owner: %w", err)
	}
	xs, _ := headerXattrs(hdr) // checked before
	for _, x := range xs {
		var err error
		if fd >= 0 {
			err = unix.Fsetxattr(fd, x.name, []byte(x.value), 0)
		} else {
			err = unix.Lsetxattr("/proc/self/fd/"+strconv.Itoa(pfd)+"/"+base, x.name, []byte(x.value), 0)
		}
		if err != nil {
			return fmt.Errorf("setting extended attribute %s: %w", x.name, err)
		}
	}
	if hdr.Typeflag != tar.TypeSymlink {
		if fd >= 0 {
			err = unix.Fchmod(fd, uint32(hdr.Mode))
		} else {
			err = unix.Fchmodat(pfd, base, uint32(hdr.Mode), 0)
		}
		if err != nil {
			return fmt.Errorf("setting the mode: %w", err)
		}
	}
	times := []unix.Timespec{tspec(hdr.AccessTime, hdr.ModTime), tspec(hdr.ModTime, time.Time{})}
	if fd >= 0 {
		err = futimens(fd, (*[2]unix.Timespec)(times))
	} else {
		err = unix.UtimesNanoAt(pfd, base, times, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return fmt.Errorf("setting the times: %w", err)
	}
	return nil
}

func tspec(t, fallback time.Time) unix.Timespec {
	if t.IsZero() {
		t = fallback
	}
	if t.IsZero() {
		return unix.Timespec{Nsec: unix.UTIME_OMIT}
	}
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// dirMeta sets a directory's metadata once its contents are in.
func (u *unpacker) dirMeta(hdr *tar.Header) error {
	fd, err := unix.Openat2(u.root, hdr.Name, &unix.OpenHow{
		Flags:   unix.O_DIRECTORY | unix.O_RDONLY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if hdr.Mode < 0 || hdr.Mode > 07777 || hdr.Uid < 0 || hdr.Gid < 0 {
		return errors.New("bad mode or owner")
	}
	return u.meta(hdr, fd, -1, "")
}

// remove removes the name base of the directory pfd: a file, a link or an
// empty directory; a name already gone is fine.
func remove(pfd int, base string) error {
	err := unix.Unlinkat(pfd, base, 0)
	if err == unix.EISDIR || err == unix.EPERM {
		err = unix.Unlinkat(pfd, base, unix.AT_REMOVEDIR)
	}
	if err == unix.ENOENT {
		return nil
	}
	return err
}

// futimens sets the times of an open file (utimensat with a NULL path).
func futimens(fd int, ts *[2]unix.Timespec) error {
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(ts)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

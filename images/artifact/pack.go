package artifact

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// PAX records of drd's own: a file with holes is stored as its data
// segments only (archive/tar writes no sparse files), with its real size
// and the map of its segments ("offset,length,offset,length,...").
const (
	paxSparseSize = "DRD.sparse.size"
	paxSparseMap  = "DRD.sparse.map"
	paxXattr      = "SCHILY.xattr."
	// paxWhiteout marks an entry of a delta that removes the name.
	paxWhiteout = "DRD.whiteout"
)

// PackStats counts what Pack wrote.
type PackStats struct {
	Entries int64
	Bytes   int64 // data bytes (holes not counted)
}

// PackOptions of a Pack.
type PackOptions struct {
	// Progress, if set, is called after each entry with the counts so far.
	Progress func(PackStats)
	// Logf receives notes (sockets skipped, mount points not crossed).
	Logf func(format string, args ...any)
	// Exclude lists names relative to the root ("var/opt/drd"): a
	// directory named is written without its contents, anything else is
	// left out.
	Exclude []string
	// Base, if set, makes a delta against the tree at Base (the image the
	// exported one was cloned from): only entries that are new or differ
	// (type, mode, owner, modification time, size, link target, device,
	// extended attributes: as rsync, content is not compared when size and
	// time agree) are written, and each entry of Base that root lacks is
	// written as a whiteout (children before their directory). Unpack it
	// with UnpackOptions.Delta over a copy of Base.
	Base string
}

// Pack writes the tree at root (one file system: entries on another
// device are mount points, written as empty directories) to w as a PAX
// tar that keeps what an exact clone keeps: hard links, holes, owners by
// number, modes, every extended attribute (POSIX ACLs and file
// capabilities included), nanosecond times and device nodes. Entries come
// in a fixed order (sorted, parents first); the root is ".".
func Pack(ctx context.Context, root string, w io.Writer, opt PackOptions) (PackStats, error) {
	var st unix.Stat_t
	if err := unix.Lstat(root, &st); err != nil {
		return PackStats{}, fmt.Errorf("exporting %s: %w", root, err)
	}
	p := &packer{ctx: ctx, root: root, dev: st.Dev, tw: tar.NewWriter(w), links: map[[2]uint64]string{}, opt: opt}
	// Files are read in order, one at a time; a few goroutines ask the
	// kernel to read ahead the files of the directory being written, so
	// that a cold cache does not make every file a wait.
	p.prefetch = make(chan string, 4096)
	var wg sync.WaitGroup
	for range prefetchers {
		wg.Go(func() {
			for path := range p.prefetch {
				if fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NOATIME|unix.O_CLOEXEC|unix.O_NONBLOCK, 0); err == nil {
					unix.Fadvise(fd, 0, 0, unix.FADV_WILLNEED)
					unix.Close(fd)
				}
			}
		})
	}
	defer wg.Wait()
	defer close(p.prefetch)
	if err := p.entry(".", &st); err != nil {
		return p.stats, err
	}
	if err := p.tw.Close(); err != nil {
		return p.stats, fmt.Errorf("exporting %s: %w", root, err)
	}
	return p.stats, nil
}

// prefetchers are the goroutines that start the reading of files ahead.
const prefetchers = 8

type packer struct {
	ctx      context.Context
	prefetch chan string // files to read ahead
	root     string
	dev      uint64
	tw       *tar.Writer
	links    map[[2]uint64]string
	opt      PackOptions
	stats    PackStats
	buf      []byte
}

func (p *packer) logf(format string, args ...any) {
	if p.opt.Logf != nil {
		p.opt.Logf(format, args...)
	}
}

func (p *packer) full(name string) string {
	if name == "." {
		return p.root
	}
	return filepath.Join(p.root, name)
}

func timespec(t unix.Timespec) time.Time { return time.Unix(t.Sec, t.Nsec) }

func (p *packer) entry(name string, st *unix.Stat_t) error {
	if err := p.ctx.Err(); err != nil {
		return err
	}
	full := p.full(name)
	if p.opt.Base != "" && name != "." {
		same, err := p.unchanged(name, full, st)
		if err != nil {
			return err
		}
		if same {
			if st.Mode&unix.S_IFMT == unix.S_IFDIR && st.Dev == p.dev && !slices.Contains(p.opt.Exclude, name) {
				return p.dir(name, full)
			}
			return nil
		}
	}
	hdr := &tar.Header{
		Name:       name,
		Mode:       int64(st.Mode & 07777),
		Uid:        int(st.Uid),
		Gid:        int(st.Gid),
		ModTime:    timespec(st.Mtim),
		AccessTime: timespec(st.Atim),
		ChangeTime: timespec(st.Ctim),
		Format:     tar.FormatPAX,
		PAXRecords: map[string]string{},
	}
	var segs [][2]int64
	var f *os.File
	mountPoint := false
	typ := st.Mode & unix.S_IFMT
	if typ != unix.S_IFDIR && typ != unix.S_IFSOCK && st.Nlink > 1 {
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := p.links[key]; ok {
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
			typ = 0 // a name of an entry written before
		} else {
			p.links[key] = name
		}
	}
	switch typ {
	case 0:
	case unix.S_IFDIR:
		hdr.Typeflag = tar.TypeDir
		mountPoint = st.Dev != p.dev
	case unix.S_IFREG:
		hdr.Typeflag = tar.TypeReg
		var err error
		f, err = os.OpenFile(full, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NOATIME, 0)
		if errors.Is(err, unix.EPERM) {
			f, err = os.OpenFile(full, os.O_RDONLY|unix.O_NOFOLLOW, 0)
		}
		if err != nil {
			return fmt.Errorf("exporting %s: %w", full, err)
		}
		defer f.Close()
		segs, err = dataSegments(int(f.Fd()), st.Size)
		if err != nil {
			return fmt.Errorf("exporting %s: finding its holes: %w", full, err)
		}
		hdr.Size = st.Size
		if sparse(segs, st.Size) {
			var data int64
			var m []string
			for _, s := range segs {
				data += s[1]
				m = append(m, strconv.FormatInt(s[0], 10), strconv.FormatInt(s[1], 10))
			}
			hdr.Size = data
			hdr.PAXRecords[paxSparseSize] = strconv.FormatInt(st.Size, 10)
			hdr.PAXRecords[paxSparseMap] = strings.Join(m, ",")
		} else {
			segs = [][2]int64{{0, st.Size}}
		}
	case unix.S_IFLNK:
		target, err := os.Readlink(full)
		if err != nil {
			return fmt.Errorf("exporting %s: %w", full, err)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		p.logf("socket %s not exported", full)
		return nil
	}
	if hdr.Typeflag != tar.TypeLink {
		xs, err := readXattrs(full, &p.buf)
		if err != nil {
			return fmt.Errorf("exporting %s: %w", full, err)
		}
		for _, x := range xs {
			hdr.PAXRecords[paxXattr+x.name] = string(x.value)
		}
	}
	if err := p.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("exporting %s: %w", full, err)
	}
	p.stats.Entries++
	if f != nil {
		for _, s := range segs {
			n, err := io.Copy(p.tw, io.NewSectionReader(f, s[0], s[1]))
			p.stats.Bytes += n
			if err != nil {
				return fmt.Errorf("exporting %s: %w", full, err)
			}
			if n != s[1] {
				return fmt.Errorf("exporting %s: it shrank while being read: export an image nothing changes", full)
			}
		}
	}
	if p.opt.Progress != nil {
		p.opt.Progress(p.stats)
	}
	if hdr.Typeflag != tar.TypeDir || slices.Contains(p.opt.Exclude, name) {
		return nil
	}
	if mountPoint {
		p.logf("%s is a mount point: exported empty", full)
		return nil
	}
	return p.dir(name, full)
}

func (p *packer) dir(name, full string) error {
	d, err := os.Open(full)
	if err != nil {
		return fmt.Errorf("exporting %s: %w", full, err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("exporting %s: %w", full, err)
	}
	slices.Sort(names)
	sts := make([]unix.Stat_t, len(names))
	for i, n := range names {
		child := n
		if name != "." {
			child = name + "/" + n
		}
		if err := unix.Lstat(p.full(child), &sts[i]); err != nil {
			return fmt.Errorf("exporting %s: %w", p.full(child), err)
		}
		if sts[i].Mode&unix.S_IFMT == unix.S_IFREG && sts[i].Size > 0 && sts[i].Blocks > 0 {
			select {
			case p.prefetch <- p.full(child):
			default: // enough ahead
			}
		}
	}
	for i, n := range names {
		child := n
		if name != "." {
			child = name + "/" + n
		}
		st := sts[i]
		if st.Mode&unix.S_IFMT != unix.S_IFDIR && slices.Contains(p.opt.Exclude, child) {
			continue
		}
		if err := p.entry(child, &st); err != nil {
			return err
		}
	}
	if p.opt.Base == "" {
		return nil
	}
	// A delta: what the base has here and root has not goes.
	gone, err := readNames(p.baseFull(name))
	if err != nil {
		return err
	}
	for _, n := range gone {
		child := n
		if name != "." {
			child = name + "/" + n
		}
		if slices.Contains(names, n) || slices.Contains(p.opt.Exclude, child) {
			continue
		}
		if err := p.whiteout(child); err != nil {
			return err
		}
	}
	return nil
}

func (p *packer) baseFull(name string) string {
	if name == "." {
		return p.opt.Base
	}
	return filepath.Join(p.opt.Base, name)
}

// readNames lists a directory of the base, sorted; nothing if it is not
// one (any more).
func readNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("exporting a delta: reading the base: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if errors.Is(err, unix.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("exporting a delta: reading the base: %w", err)
	}
	slices.Sort(names)
	return names, nil
}

// whiteout writes the removal of the base's entry name: for a directory,
// of everything in it first.
func (p *packer) whiteout(name string) error {
	var st unix.Stat_t
	if err := unix.Lstat(p.baseFull(name), &st); err != nil {
		return fmt.Errorf("exporting a delta: %w", err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		names, err := readNames(p.baseFull(name))
		if err != nil {
			return err
		}
		for _, n := range names {
			if err := p.whiteout(name + "/" + n); err != nil {
				return err
			}
		}
	}
	hdr := &tar.Header{Name: name, Typeflag: tar.TypeReg, Format: tar.FormatPAX, PAXRecords: map[string]string{paxWhiteout: "1"}, ModTime: time.Unix(0, 0)}
	if err := p.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("exporting a delta: %w", err)
	}
	p.stats.Entries++
	return nil
}

// unchanged tells whether the entry name of root equals the base's; when
// the base has another type of entry there, its removal is written first.
func (p *packer) unchanged(name, full string, st *unix.Stat_t) (bool, error) {
	var bs unix.Stat_t
	err := unix.Lstat(p.baseFull(name), &bs)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return false, nil // new (perhaps where the base has a file)
	}
	if err != nil {
		return false, fmt.Errorf("exporting a delta: %w", err)
	}
	if bs.Mode&unix.S_IFMT != st.Mode&unix.S_IFMT {
		return false, p.whiteout(name)
	}
	if bs.Mode != st.Mode || bs.Uid != st.Uid || bs.Gid != st.Gid || bs.Mtim != st.Mtim || bs.Rdev != st.Rdev ||
		(st.Mode&unix.S_IFMT != unix.S_IFDIR && bs.Size != st.Size) {
		return false, nil
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		a, err1 := os.Readlink(full)
		b, err2 := os.Readlink(p.baseFull(name))
		if err1 != nil || err2 != nil || a != b {
			return false, nil
		}
	}
	xa, err := readXattrs(full, &p.buf)
	if err != nil {
		return false, fmt.Errorf("exporting %s: %w", full, err)
	}
	xb, err := readXattrs(p.baseFull(name), &p.buf)
	if err != nil {
		return false, nil
	}
	return slices.EqualFunc(xa, xb, func(a, b xattr) bool { return a.name == b.name && string(a.value) == string(b.value) }), nil
}

// dataSegments lists the data of an open file as (offset, length) pairs,
// by SEEK_DATA/SEEK_HOLE; a file system without them shows one segment.
func dataSegments(fd int, size int64) ([][2]int64, error) {
	var segs [][2]int64
	off := int64(0)
	for off < size {
		data, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break // only a hole up to the end
		}
		if err == unix.EINVAL || err == unix.EOPNOTSUPP {
			return [][2]int64{{0, size}}, nil
		}
		if err != nil {
			return nil, err
		}
		hole, err := unix.Seek(fd, data, unix.SEEK_HOLE)
		if err != nil {
			return nil, err
		}
		hole = min(hole, size)
		if hole > data {
			segs = append(segs, [2]int64{data, hole - data})
		}
		off = hole
	}
	return segs, nil
}

func sparse(segs [][2]int64, size int64) bool {
	return !(len(segs) == 1 && segs[0] == [2]int64{0, size}) && size > 0
}

type xattr struct {
	name  string
	value []byte
}

// readXattrs reads every extended attribute of path, not following a link.
func readXattrs(path string, buf *[]byte) ([]xattr, error) {
	if len(*buf) < 64<<10 {
		*buf = make([]byte, 64<<10)
	}
	n, err := unix.Llistxattr(path, *buf)
	if err == unix.ENOTSUP {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing extended attributes: %w", err)
	}
	var out []xattr
	for _, name := range strings.Split(string((*buf)[:n]), "\x00") {
		if name == "" {
			continue
		}
		v, err := unix.Lgetxattr(path, name, *buf)
		if err == unix.ENODATA {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading extended attribute %s: %w", name, err)
		}
		out = append(out, xattr{name, slices.Clone((*buf)[:v])})
	}
	slices.SortFunc(out, func(a, b xattr) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

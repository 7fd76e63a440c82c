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
//
// One goroutine walks the tree in that order, a few read the entries
// ahead of the writer (extended attributes, holes, and the data of files
// up to 8 MiB, at most 64 MiB ahead), and the caller's writes them in
// the walk's order: the output is the same as one goroutine's.
func Pack(ctx context.Context, root string, w io.Writer, opt PackOptions) (PackStats, error) {
	var st unix.Stat_t
	if err := unix.Lstat(root, &st); err != nil {
		return PackStats{}, fmt.Errorf("exporting %s: %w", root, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := &packer{ctx: ctx, root: root, dev: st.Dev, links: map[[2]uint64]string{}, opt: opt,
		order: make(chan *item, inFlight), work: make(chan *item, inFlight), ahead: newBudget(readAhead)}
	stop := context.AfterFunc(ctx, p.ahead.cancel)
	defer stop()
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			var buf []byte
			for it := range p.work {
				if it.err = ctx.Err(); it.err == nil {
					it.err = p.prepare(it, &buf)
				}
				close(it.done)
			}
		})
	}
	wg.Go(func() {
		defer close(p.work)
		defer close(p.order)
		p.walkErr = p.entry(".", &st)
	})
	stats, err := p.write(tar.NewWriter(w))
	if err != nil {
		cancel()
		for it := range p.order { // the walk stops; close what was opened ahead
			<-it.done
			if it.f != nil {
				it.f.Close()
			}
		}
	}
	wg.Wait()
	if err == nil {
		err = p.walkErr
	}
	return stats, err
}

// Bounds of Pack's reading ahead.
const (
	readers   = 8        // goroutines reading entries ahead of the writer
	inFlight  = 1024     // entries walked ahead of the writer
	readAhead = 64 << 20 // bytes of file data read ahead
	wholeMax  = 8 << 20  // larger files are read by the writer as it writes them
)

type packer struct {
	ctx     context.Context
	root    string
	dev     uint64
	links   map[[2]uint64]string
	opt     PackOptions
	buf     []byte     // the walk's, for extended attributes
	order   chan *item // entries in the order they are written
	work    chan *item // entries to read ahead
	ahead   *budget    // bytes of file data read ahead
	walkErr error
}

// item is one entry on its way from the walk to the writer.
type item struct {
	name  string
	st    unix.Stat_t
	hdr   *tar.Header // complete when walked (a hard link, a whiteout); else made by prepare
	mount bool        // a mount point: written as an empty directory
	done  chan struct{}
	err   error
	f     *os.File   // a regular file the writer reads (data nil)
	segs  [][2]int64 // its data segments
	data  []byte     // its data, read ahead
	taken int64      // bytes of the read-ahead budget it holds
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

// write writes the entries in the walk's order as they are ready.
func (p *packer) write(tw *tar.Writer) (PackStats, error) {
	var stats PackStats
	for it := range p.order {
		<-it.done
		if it.err != nil {
			if it.f != nil {
				it.f.Close()
			}
			return stats, it.err
		}
		err := p.writeItem(tw, it, &stats)
		if it.f != nil {
			it.f.Close()
		}
		p.ahead.give(it.taken)
		if err != nil {
			return stats, err
		}
		if p.opt.Progress != nil {
			p.opt.Progress(stats)
		}
	}
	if p.walkErr != nil {
		return stats, p.walkErr
	}
	if err := tw.Close(); err != nil {
		return stats, fmt.Errorf("exporting %s: %w", p.root, err)
	}
	return stats, nil
}

func (p *packer) writeItem(tw *tar.Writer, it *item, stats *PackStats) error {
	full := p.full(it.name)
	if err := tw.WriteHeader(it.hdr); err != nil {
		return fmt.Errorf("exporting %s: %w", full, err)
	}
	stats.Entries++
	if it.data != nil {
		n, err := tw.Write(it.data)
		stats.Bytes += int64(n)
		if err != nil {
			return fmt.Errorf("exporting %s: %w", full, err)
		}
	} else if it.f != nil {
		for _, s := range it.segs {
			n, err := io.Copy(tw, io.NewSectionReader(it.f, s[0], s[1]))
			stats.Bytes += n
			if err != nil {
				return fmt.Errorf("exporting %s: %w", full, err)
			}
			if n != s[1] {
				return fmt.Errorf("exporting %s: it shrank while being read: export an image nothing changes", full)
			}
		}
	}
	if it.mount {
		p.logf("%s is a mount point: exported empty", full)
	}
	return nil
}

// emit hands an entry of the walk to the writer, and to the readers when
// it needs reading.
func (p *packer) emit(it *item) error {
	it.done = make(chan struct{})
	read := it.hdr == nil
	if read && it.st.Mode&unix.S_IFMT == unix.S_IFREG && it.st.Size <= wholeMax {
		if err := p.ahead.take(it.st.Size); err != nil {
			return err
		}
		it.taken = it.st.Size
	}
	select {
	case p.order <- it:
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
	if !read {
		close(it.done)
		return nil
	}
	select {
	case p.work <- it:
	case <-p.ctx.Done():
		it.err = p.ctx.Err()
		close(it.done)
		return it.err
	}
	return nil
}

// entry walks the entry name (and, for a directory, what it holds).
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
	it := &item{name: name, st: *st}
	typ := st.Mode & unix.S_IFMT
	if typ == unix.S_IFSOCK {
		p.logf("socket %s not exported", full)
		return nil
	}
	if typ != unix.S_IFDIR && st.Nlink > 1 {
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := p.links[key]; ok {
			it.hdr = p.header(it)
			it.hdr.Typeflag, it.hdr.Linkname = tar.TypeLink, first
		} else {
			p.links[key] = name
		}
	}
	it.mount = typ == unix.S_IFDIR && st.Dev != p.dev
	if err := p.emit(it); err != nil {
		return err
	}
	if typ != unix.S_IFDIR || it.mount || slices.Contains(p.opt.Exclude, name) {
		return nil
	}
	return p.dir(name, full)
}

// header is the part of an entry's tar header its stat gives.
func (p *packer) header(it *item) *tar.Header {
	st := &it.st
	return &tar.Header{
		Name:       it.name,
		Mode:       int64(st.Mode & 07777),
		Uid:        int(st.Uid),
		Gid:        int(st.Gid),
		ModTime:    timespec(st.Mtim),
		AccessTime: timespec(st.Atim),
		ChangeTime: timespec(st.Ctim),
		Format:     tar.FormatPAX,
		PAXRecords: map[string]string{},
	}
}

// prepare makes an entry's header and reads what the writer needs: its
// extended attributes, a link's target, a file's holes and (up to
// wholeMax) its data, or the file open for the writer.
func (p *packer) prepare(it *item, buf *[]byte) error {
	full := p.full(it.name)
	hdr := p.header(it)
	st := &it.st
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		hdr.Typeflag = tar.TypeDir
	case unix.S_IFREG:
		hdr.Typeflag = tar.TypeReg
		f, err := os.OpenFile(full, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NOATIME, 0)
		if errors.Is(err, unix.EPERM) {
			f, err = os.OpenFile(full, os.O_RDONLY|unix.O_NOFOLLOW, 0)
		}
		if err != nil {
			return fmt.Errorf("exporting %s: %w", full, err)
		}
		it.f = f
		segs, err := dataSegments(int(f.Fd()), st.Size)
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
		it.segs = segs
		if it.taken > 0 || st.Size == 0 {
			it.data = make([]byte, 0, hdr.Size)
			for _, s := range segs {
				n := len(it.data)
				it.data = it.data[:n+int(s[1])]
				if _, err := f.ReadAt(it.data[n:], s[0]); err != nil {
					if errors.Is(err, io.EOF) {
						return fmt.Errorf("exporting %s: it shrank while being read: export an image nothing changes", full)
					}
					return fmt.Errorf("exporting %s: %w", full, err)
				}
			}
			f.Close()
			it.f = nil
		} else {
			// the writer reads it as it writes it; its start is asked for now
			unix.Fadvise(int(f.Fd()), 0, wholeMax, unix.FADV_WILLNEED)
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
	}
	xs, err := readXattrs(full, buf)
	if err != nil {
		return fmt.Errorf("exporting %s: %w", full, err)
	}
	for _, x := range xs {
		hdr.PAXRecords[paxXattr+x.name] = string(x.value)
	}
	it.hdr = hdr
	return nil
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
	return p.emit(&item{name: name, hdr: hdr})
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

// budget is a count of bytes that can be taken, waiting, and given back.
type budget struct {
	mu       sync.Mutex
	cond     *sync.Cond
	free     int64
	max      int64
	canceled bool
}

func newBudget(max int64) *budget {
	b := &budget{free: max, max: max}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// take waits until n bytes (at most the whole budget) are free and takes
// them; it fails once the budget is canceled.
func (b *budget) take(n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	n = min(n, b.max)
	for b.free < n && !b.canceled {
		b.cond.Wait()
	}
	if b.canceled {
		return context.Canceled
	}
	b.free -= n
	return nil
}

func (b *budget) give(n int64) {
	b.mu.Lock()
	b.free += min(n, b.max)
	b.mu.Unlock()
	b.cond.Broadcast()
}

func (b *budget) cancel() {
	b.mu.Lock()
	b.canceled = true
	b.mu.Unlock()
	b.cond.Broadcast()
}

package imagesync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// staleCtime marks a booted entry that changed after drd copied it: no
// real entry has it, so the next sync sees the entry changed.
const staleCtime = -1

// NeverSynced are the paths of an image that drd sync never brings over:
// scratch space, the package databases (their changes come with
// packages, which sync does not install), the boot files, the clone's own
// device names, and drd's own files. The manifest does not list them.
var NeverSynced = []string{
	"/tmp", "/var/tmp", "/var/cache/apt", "/var/lib/dpkg", "/var/lib/apt",
	"/boot", "/etc/fstab", "/etc/crypttab", "/var/opt/drd",
}

// Prune returns the paths, relative to the file system mounted at mp,
// whose contents a walk of it leaves out: the never-synced paths and the
// mount points of the image's other file systems (mps), whose contents
// belong to those.
func Prune(mp string, mps []string, extra ...string) []string {
	var out []string
	for _, p := range append(append(append([]string{}, NeverSynced...), extra...), mps...) {
		if p == mp {
			continue
		}
		if rel, ok := relTo(mp, p); ok {
			out = append(out, rel)
		}
	}
	sort.Strings(out)
	return out
}

// relTo makes the image path p relative to the mount point mp, if it is
// below it.
func relTo(mp, p string) (string, bool) {
	p = path.Clean(p)
	if mp == "/" {
		return strings.TrimPrefix(p, "/"), p != "/"
	}
	if rel, ok := strings.CutPrefix(p, mp+"/"); ok {
		return rel, true
	}
	return "", false
}

// pruneSet answers whether a relative path is pruned.
type pruneSet map[string]bool

func newPruneSet(rels []string) pruneSet {
	s := pruneSet{}
	for _, r := range rels {
		s[r] = true
	}
	return s
}

func (s pruneSet) has(rel string) bool { return s[rel] }

// Record walks one file system of a fresh clone (dst, as the copy left it)
// beside its source (src, the tree it was copied from: the same inodes as
// the booted file system) and returns its manifest entries, sorted. An
// entry of the source that changed after the copy wrote it (its status
// change time is not before the clone's) is marked stale: the next sync
// copies it. prune are paths relative to the file system not listed below.
func Record(ctx context.Context, src, dst string, prune []string) ([]Entry, error) {
	sfd, err := unix.Open(src, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the source %s: %w", src, err)
	}
	defer unix.Close(sfd)
	dfd, err := unix.Open(dst, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the clone's %s: %w", dst, err)
	}
	defer unix.Close(dfd)

	var mu sync.Mutex
	var out []Entry
	var rootS, rootD unix.Stat_t
	if err := unix.Fstat(sfd, &rootS); err != nil {
		return nil, err
	}
	if err := unix.Fstat(dfd, &rootD); err != nil {
		return nil, err
	}
	rootX, err := xattrDigest(dfd, "")
	if err != nil {
		return nil, fmt.Errorf("reading the attributes of %s: %w", dst, err)
	}
	out = append(out, entryOf("", &rootS, &rootD, rootX))
	ps := newPruneSet(prune)
	w := &walker{
		root:  dfd,
		prune: ps.has,
		changed: func(rel string) {
			// The clone does not change under drd; a source directory
			// missing is handled per entry.
		},
		each: func(d *walkDir) error {
			sdir, err := openDir(sfd, d.rel)
			if err != nil && !changedUnder(err) {
				return fmt.Errorf("opening %s in the source %s: %w", d.rel, src, err)
			}
			if sdir >= 0 {
				defer unix.Close(sdir)
			}
			es := make([]Entry, 0, len(d.ents))
			for i := range d.ents {
				s := &d.ents[i]
				name := s.rel[strings.LastIndexByte(s.rel, '/')+1:]
				x, err := xattrDigest(d.fd, name)
				if err != nil {
					return fmt.Errorf("reading the attributes of %s in the clone: %w", s.rel, err)
				}
				var sst unix.Stat_t
				have := sdir >= 0 && unix.Fstatat(sdir, name, &sst, unix.AT_SYMLINK_NOFOLLOW) == nil
				if !have {
					sst = unix.Stat_t{}
				}
				es = append(es, entryOf(s.rel, &sst, &s.st, x))
			}
			mu.Lock()
			out = append(out, es...)
			mu.Unlock()
			return nil
		},
	}
	if err := w.run(ctx, 0); err != nil {
		return nil, fmt.Errorf("recording what the clone holds in %s: %w", dst, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out, nil
}

// entryOf makes the manifest entry of a clone entry (d, xattr digest x)
// and the source entry it was copied from (s; zero when there is none).
func entryOf(rel string, s, d *unix.Stat_t, x uint64) Entry {
	e := Entry{Rel: rel, Dst: writtenOf(d, x)}
	if s.Mode == 0 {
		return e
	}
	e.Src = identOf(s)
	if e.Src.Type != e.Dst.Type {
		e.Src.Ctime = staleCtime
		return e
	}
	switch e.Src.Type {
	case TypeReg, TypeLink:
		if s.Size != d.Size || (e.Src.Type == TypeReg && s.Mtim != d.Mtim) || !before(s.Ctim, d.Ctim) {
			e.Src.Ctime = staleCtime
		}
	case TypeChar, TypeBlock:
		if s.Rdev != d.Rdev {
			e.Src.Ctime = staleCtime
		}
	}
	return e
}

func before(a, b unix.Timespec) bool {
	return a.Sec < b.Sec || (a.Sec == b.Sec && a.Nsec < b.Nsec)
}

// writtenOf describes an entry of the clone.
func writtenOf(st *unix.Stat_t, x uint64) Written {
	w := Written{Ident: identOf(st), Mode: st.Mode & 07777, Uid: st.Uid, Gid: st.Gid, Xattr: x}
	if st.Nlink > 1 && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		w.Link = st.Ino
	}
	return w
}

// xattrDigest is a digest of the extended attributes of the entry name of
// the open directory dirfd (name "": dirfd itself), 0 when it has none.
func xattrDigest(dirfd int, name string) (uint64, error) {
	p := procPath(dirfd, name)
	if name == "" {
		p = procPath(dirfd, ".")
	}
	buf := make([]byte, 1024)
	var n int
	var err error
	for {
		n, err = unix.Llistxattr(p, buf)
		if err == unix.ERANGE {
			buf = make([]byte, 2*len(buf))
			continue
		}
		break
	}
	if err == unix.ENOTSUP || err == unix.EOPNOTSUPP || (err == nil && n == 0) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var names []string
	for _, b := range bytes.Split(buf[:n], []byte{0}) {
		if len(b) > 0 {
			names = append(names, string(b))
		}
	}
	sort.Strings(names)
	h := sha256.New()
	val := make([]byte, 4096)
	for _, nm := range names {
		var k int
		for {
			k, err = unix.Lgetxattr(p, nm, val)
			if err == unix.ERANGE {
				val = make([]byte, 2*len(val))
				continue
			}
			break
		}
		if err == unix.ENODATA {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("reading %s: %w", nm, err)
		}
		io.WriteString(h, nm)
		h.Write([]byte{0})
		var l [8]byte
		binary.LittleEndian.PutUint64(l[:], uint64(k))
		h.Write(l[:])
		h.Write(val[:k])
	}
	sum := h.Sum(nil)
	d := binary.LittleEndian.Uint64(sum)
	if d == 0 {
		d = 1
	}
	return d, nil
}

// ReadEtc reads the regular files of the tree etc (the clone's /etc as
// cloned) up to maxEtcFile bytes each: the base of the /etc merge. A
// bigger file, or one that cannot be read, has no base.
func ReadEtc(ctx context.Context, etc string) (map[string][]byte, error) {
	fd, err := unix.Open(etc, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		if os.IsNotExist(err) {
			return map[string][]byte{}, nil
		}
		return nil, fmt.Errorf("opening %s: %w", etc, err)
	}
	defer unix.Close(fd)
	out := map[string][]byte{}
	var mu sync.Mutex
	w := &walker{root: fd, changed: func(string) {}, each: func(d *walkDir) error {
		for _, s := range d.ents {
			if s.st.Mode&unix.S_IFMT != unix.S_IFREG || s.st.Size > maxEtcFile {
				continue
			}
			name := s.rel[strings.LastIndexByte(s.rel, '/')+1:]
			data, err := readAt(d.fd, name, maxEtcFile)
			if err != nil {
				continue
			}
			mu.Lock()
			out[s.rel] = data
			mu.Unlock()
		}
		return nil
	}}
	if err := w.run(ctx, 4); err != nil {
		return nil, fmt.Errorf("reading %s: %w", etc, err)
	}
	return out, nil
}

// readAt reads the regular file name of dirfd, not following a link, at
// most max bytes.
func readAt(dirfd int, name string, max int64) ([]byte, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, max)
	}
	return io.ReadAll(io.LimitReader(f, max+1))
}

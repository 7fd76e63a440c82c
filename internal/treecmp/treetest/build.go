package treetest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Options of Build.
type Options struct {
	// BigFile is the size of /big, a file of pseudo-random data; 0: none.
	BigFile int64
	// SparseSize is the apparent size of /sparse/large; 0: 1 GiB + 12345.
	SparseSize int64
}

// Counts are the entries Build made, as a copy's statistics count them.
type Counts struct {
	Files, Dirs, Symlinks, HardLinks, Devices, Fifos, Sockets int64
	Entries                                                   int64 // all of the above but sockets, the root excluded
}

// Build makes below root (an existing, empty directory, on a file system
// with user and trusted attributes and ACLs) a tree holding every kind of
// entry a copy must keep:
//
//	/setuid, /setgid                  setuid and setgid files
//	/sticky/, /setgid-dir/            sticky and setgid directories
//	/cap                              a file with security.capability (setcap)
//	/xattrs                           user.* (text and binary) and trusted.* attributes
//	/acl-dir/, /acl-dir/inherited     access and default ACLs (setfacl), an inherited ACL
//	/acl-file                         an access ACL
//	/sparse/large                     holes and data extents, a hole at the end
//	/sparse/hole-first, /sparse/all-hole
//	/links/a = /other/b               a hard link across directories
//	/links/c = /links/d = /other/e    a group of three
//	/links/sym = /other/sym           a hard-linked symbolic link
//	/symlinks/*                       dangling, absolute, relative, long, with an attribute
//	/devs/chr, /devs/blk, /devs/fifo, /devs/sock
//	/owned                            owned by 1234:5678
//	/times/, /times/link              nanosecond times on a directory and a symbolic link
//	/empty                            an empty file
//	/deep/d01/…/d40/leaf              a deep tree
//	/many/f000…f299                   small files of 0-16 KiB
//	/names/*                          names with spaces, newlines, UTF-8
//	/big                              opt.BigFile bytes
//
// Every entry gets distinct, fixed nanosecond access and modification times,
// so two Builds make equal trees (for treecmp).
func Build(root string, opt Options) (Counts, error) {
	b := &builder{root: root}
	b.build(opt)
	if b.err != nil {
		return Counts{}, fmt.Errorf("building the test tree in %s: %w", root, b.err)
	}
	b.setTimes()
	return b.counts, b.err
}

type builder struct {
	root   string
	err    error
	paths  []string // everything made, for the times
	counts Counts
}

func (b *builder) p(rel string) string { return filepath.Join(b.root, rel) }

func (b *builder) check(err error) {
	if err != nil && b.err == nil {
		b.err = err
	}
}

func (b *builder) made(rel string) {
	b.paths = append(b.paths, rel)
}

func (b *builder) dir(rel string, mode uint32) {
	b.check(os.Mkdir(b.p(rel), 0o700))
	b.check(os.Chmod(b.p(rel), os.FileMode(mode&0o777)|modeBits(mode)))
	b.made(rel)
	b.counts.Dirs++
	b.counts.Entries++
}

func modeBits(mode uint32) os.FileMode {
	var m os.FileMode
	if mode&unix.S_ISUID != 0 {
		m |= os.ModeSetuid
	}
	if mode&unix.S_ISGID != 0 {
		m |= os.ModeSetgid
	}
	if mode&unix.S_ISVTX != 0 {
		m |= os.ModeSticky
	}
	return m
}

func (b *builder) file(rel string, data []byte, mode uint32) {
	b.check(os.WriteFile(b.p(rel), data, 0o600))
	b.check(unix.Chmod(b.p(rel), mode))
	b.made(rel)
	b.counts.Files++
	b.counts.Entries++
}

func (b *builder) chown(rel string, uid, gid int) {
	b.check(unix.Lchown(b.p(rel), uid, gid))
}

func (b *builder) symlink(target, rel string) {
	b.check(os.Symlink(target, b.p(rel)))
	b.made(rel)
	b.counts.Symlinks++
	b.counts.Entries++
}

func (b *builder) link(old, rel string) {
	b.check(os.Link(b.p(old), b.p(rel)))
	b.made(rel)
	b.counts.HardLinks++
	b.counts.Entries++
}

func (b *builder) setxattr(rel, name string, value []byte) {
	b.check(unix.Lsetxattr(b.p(rel), name, value, 0))
}

func (b *builder) tool(name string, args ...string) {
	if b.err == nil {
		b.check(runErr(name, args...))
	}
}

// content is deterministic data of n bytes for the file seed.
func content(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for k := range 8 {
			out[i+k] = byte(v >> (8 * k))
		}
	}
	for i := n &^ 7; i < n; i++ {
		out[i] = byte(r.Uint32())
	}
	return out
}

func (b *builder) build(opt Options) {
	b.check(os.Chmod(b.root, 0o755))
	b.made("")

	b.file("setuid", content(1, 3000), 0o4755)
	b.file("setgid", content(2, 1000), 0o2755)
	b.chown("setgid", 0, 5678)
	b.check(unix.Chmod(b.p("setgid"), 0o2755))
	b.dir("sticky", 0o1777)
	b.file("sticky/file", content(3, 10), 0o644)
	b.dir("setgid-dir", 0o2775)
	b.chown("setgid-dir", 0, 5678)
	b.check(unix.Chmod(b.p("setgid-dir"), 0o2775))
	b.file("setgid-dir/file", content(4, 100), 0o664)

	b.file("cap", content(5, 5000), 0o755)
	b.tool("setcap", "cap_net_raw,cap_net_admin+ep", b.p("cap"))

	b.file("xattrs", content(6, 200), 0o644)
	b.setxattr("xattrs", "user.drd", []byte("hello"))
	b.setxattr("xattrs", "user.binary", []byte{0, 1, 2, 255, 254, 0})
	b.setxattr("xattrs", "user.empty", nil)
	b.setxattr("xattrs", "trusted.drd", []byte("secret"))
	b.setxattr("xattrs", "user.big", content(7, 3000))

	b.dir("acl-dir", 0o750)
	b.tool("setfacl", "-m", "u:1234:rwx,g:5678:r-x", b.p("acl-dir"))
	b.tool("setfacl", "-d", "-m", "u:1234:rwx,g:5678:r-x,o::---", b.p("acl-dir"))
	b.file("acl-dir/inherited", content(8, 50), 0o640) // inherits the default ACL
	b.dir("acl-dir/sub", 0o750)                        // inherits both
	b.file("acl-file", content(9, 60), 0o640)
	b.tool("setfacl", "-m", "u:1234:r--,g:5678:rw-,m::rw-", b.p("acl-file"))

	b.dir("sparse", 0o755)
	size := opt.SparseSize
	if size == 0 {
		size = 1<<30 + 12345
	}
	b.sparse("sparse/large", size, []int64{0, 100 << 20, 512 << 20, size - 1<<20}, []int{64 << 10, 1 << 20, 4096 + 100, 4096})
	b.sparse("sparse/hole-first", 4<<20, []int64{1 << 20}, []int{8192})
	b.sparse("sparse/all-hole", 10<<20, nil, nil)

	b.dir("links", 0o755)
	b.dir("other", 0o755)
	b.file("links/a", content(10, 4000), 0o644)
	b.link("links/a", "other/b")
	b.file("links/c", content(11, 5000), 0o600)
	b.link("links/c", "links/d")
	b.link("links/c", "other/e")
	b.symlink("target-of-a-hard-linked-symlink", "links/sym")
	b.link("links/sym", "other/sym")

	b.dir("symlinks", 0o755)
	b.symlink("/nonexistent/target", "symlinks/dangling")
	b.symlink("/etc/passwd", "symlinks/abs")
	b.symlink("../setuid", "symlinks/rel")
	b.symlink("../sticky", "symlinks/dir")
	b.symlink(strings.Repeat("long/", 200)+"end", "symlinks/long")
	b.symlink("x", "symlinks/with-xattr")
	b.setxattr("symlinks/with-xattr", "trusted.link", []byte("on a link"))
	b.chown("symlinks/with-xattr", 1234, 5678)

	b.dir("devs", 0o755)
	b.check(unix.Mknod(b.p("devs/chr"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	b.made("devs/chr")
	b.check(unix.Mknod(b.p("devs/blk"), unix.S_IFBLK|0o660, int(unix.Mkdev(7, 200))))
	b.made("devs/blk")
	b.chown("devs/blk", 0, 6)
	b.counts.Devices += 2
	b.check(unix.Mkfifo(b.p("devs/fifo"), 0o620))
	b.made("devs/fifo")
	b.counts.Fifos++
	b.counts.Entries += 3
	b.check(unix.Mknod(b.p("devs/sock"), unix.S_IFSOCK|0o755, 0))
	b.counts.Sockets++

	b.file("owned", content(12, 700), 0o640)
	b.chown("owned", 1234, 5678)
	b.check(unix.Chmod(b.p("owned"), 0o640))

	b.dir("times", 0o755)
	b.file("times/file", content(13, 10), 0o644)
	b.symlink("file", "times/link")

	b.file("empty", nil, 0o644)

	rel := "deep"
	b.dir(rel, 0o755)
	for i := 1; i <= 40; i++ {
		rel = fmt.Sprintf("%s/d%02d", rel, i)
		b.dir(rel, 0o755)
	}
	b.file(rel+"/leaf", content(14, 123), 0o644)

	b.dir("many", 0o755)
	for i := range 300 {
		b.file(fmt.Sprintf("many/f%03d", i), content(uint64(100+i), (i*4099)%(16<<10+1)), 0o644)
	}

	b.dir("names", 0o755)
	for _, n := range []string{"with space", "new\nline", "ünïcødé ✓", "-dash", ".hidden", strings.Repeat("n", 255)} {
		b.file("names/"+n, []byte(n), 0o644)
	}

	if opt.BigFile > 0 {
		b.big("big", opt.BigFile)
	}
}

// sparse makes a file of size bytes with data of lens[i] bytes at offs[i]
// and holes elsewhere.
func (b *builder) sparse(rel string, size int64, offs []int64, lens []int) {
	f, err := os.OpenFile(b.p(rel), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		b.check(err)
		return
	}
	for i, off := range offs {
		_, err := f.WriteAt(content(uint64(1000+i), lens[i]), off)
		b.check(err)
	}
	b.check(f.Truncate(size))
	b.check(f.Close())
	b.made(rel)
	b.counts.Files++
	b.counts.Entries++
}

// big writes n bytes of pseudo-random data, a MiB at a time.
func (b *builder) big(rel string, n int64) {
	f, err := os.OpenFile(b.p(rel), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		b.check(err)
		return
	}
	block := content(99, 1<<20)
	for off := int64(0); off < n; off += int64(len(block)) {
		block[0], block[1], block[2] = byte(off>>20), byte(off>>28), byte(off>>36)
		_, err := f.Write(block[:min(int64(len(block)), n-off)])
		b.check(err)
	}
	b.check(f.Close())
	b.made(rel)
	b.counts.Files++
	b.counts.Entries++
}

// setTimes gives every entry made distinct nanosecond times, deepest first
// (setting times on an entry does not change its directory's).
func (b *builder) setTimes() {
	order := make([]int, len(b.paths))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool {
		return strings.Count(b.paths[order[i]], "/") > strings.Count(b.paths[order[j]], "/")
	})
	const base = 1_600_000_000
	for _, i := range order {
		ts := []unix.Timespec{
			{Sec: base + int64(i)*3600, Nsec: int64(i)*7919 + 1},              // access
			{Sec: base + int64(i)*3600 - 86400, Nsec: 999_999_999 - int64(i)}, // modification
		}
		b.check(unix.UtimesNanoAt(unix.AT_FDCWD, b.p(b.paths[i]), ts, unix.AT_SYMLINK_NOFOLLOW))
	}
}

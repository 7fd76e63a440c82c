package treecmp

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"sort"

	"golang.org/x/sys/unix"
)

// entry is what the comparison needs of one entry of a tree.
type entry struct {
	st     unix.Stat_t
	xattrs map[string][]byte
	target string // symbolic links
}

func (e *entry) typ() uint32 { return e.st.Mode & unix.S_IFMT }

// tree is a scanned tree: its entries by path ("/" is the root, "/etc/x"
// below it) and the names of each multiply-linked inode.
type tree struct {
	root    string
	entries map[string]*entry
	links   map[uint64][]string // inode -> sorted paths, for non-directories with more than one link
}

func (t *tree) full(p string) string { return path.Join(t.root, p) }

// scan reads the tree at root, without crossing into other file systems and
// leaving out the ignored paths and sockets.
func scan(root string, ignore map[string]bool) (*tree, error) {
	t := &tree{root: root, entries: map[string]*entry{}, links: map[uint64][]string{}}
	rootEnt, err := t.examine("/")
	if err != nil {
		return nil, err
	}
	if rootEnt.typ() != unix.S_IFDIR {
		return nil, fmt.Errorf("treecmp: %s is not a directory", root)
	}
	t.entries["/"] = rootEnt
	dev := rootEnt.st.Dev
	stack := []string{"/"}
	for len(stack) > 0 {
		dir := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		names, err := readNames(t.full(dir))
		if err != nil {
			return nil, fmt.Errorf("treecmp: reading the directory %s: %w", t.full(dir), err)
		}
		for _, name := range names {
			p := path.Join(dir, name)
			if ignore[p] {
				continue
			}
			e, err := t.examine(p)
			if err != nil {
				return nil, err
			}
			switch {
			case e.typ() == unix.S_IFSOCK:
				continue
			case e.typ() == unix.S_IFDIR && e.st.Dev == dev:
				stack = append(stack, p)
			case e.typ() != unix.S_IFDIR && e.st.Nlink > 1:
				t.links[e.st.Ino] = append(t.links[e.st.Ino], p)
			}
			t.entries[p] = e
		}
	}
	for _, ps := range t.links {
		sort.Strings(ps)
	}
	// Link targets last: reading a link changes its access time on a
	// relatime mount, and a hard-linked link shows it under every name.
	for p, e := range t.entries {
		if e.typ() == unix.S_IFLNK {
			if e.target, err = os.Readlink(t.full(p)); err != nil {
				return nil, fmt.Errorf("treecmp: reading the symbolic link %s: %w", t.full(p), err)
			}
		}
	}
	return t, nil
}

// examine reads the status and extended attributes of p.
func (t *tree) examine(p string) (*entry, error) {
	full := t.full(p)
	e := &entry{}
	if err := unix.Lstat(full, &e.st); err != nil {
		return nil, fmt.Errorf("treecmp: examining %s: %w", full, err)
	}
	xs, err := readXattrs(full)
	if err != nil {
		return nil, fmt.Errorf("treecmp: reading the extended attributes of %s: %w", full, err)
	}
	e.xattrs = xs
	return e, nil
}

// readNames lists a directory without changing its access time.
func readNames(dir string) ([]string, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_NOATIME|unix.O_CLOEXEC, 0)
	if err == unix.EPERM {
		fd, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), dir)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	sort.Strings(names)
	return names, err
}

// readXattrs returns every extended attribute of path (not followed).
func readXattrs(path string) (map[string][]byte, error) {
	size, err := unix.Llistxattr(path, nil)
	if err == unix.ENOTSUP || size == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	n, err := unix.Llistxattr(path, buf)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, name := range bytes.Split(buf[:n], []byte{0}) {
		if len(name) == 0 {
			continue
		}
		vsize, err := unix.Lgetxattr(path, string(name), nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		v := make([]byte, vsize)
		vn, err := unix.Lgetxattr(path, string(name), v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[string(name)] = v[:vn]
	}
	return out, nil
}

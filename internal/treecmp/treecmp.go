// Package treecmp compares two file system trees entry by entry and reports
// every difference an administrator would care about after a copy: type,
// mode (setuid, setgid and sticky included), owner, size, content (sha256),
// holes and allocated space of sparse files, symbolic link targets, device
// numbers, hard-link groups, every extended attribute (ACLs and file
// capabilities included), and modification and access times to the
// nanosecond, on directories and symbolic links too.
//
// Tree a is the original, b the copy: the one directional check (a sparse
// file must not take more space in b than in a) reads them that way.
// Sockets are not compared (a copy skips them: the programs that listen on
// them make them). Like the copy, the walk does not cross into another file
// system mounted inside a tree: a mount point is compared as the directory
// it shows, not its contents. Status change times (ctime) and inode numbers
// cannot be copied and are not compared.
//
// Files and directories are read with O_NOATIME (so run as root or as their
// owner) and every entry is examined before anything is read, so comparing
// does not change the access times it compares. Reading a symbolic link does
// change its access time on a mount with relatime: mount both trees noatime
// to compare them more than once.
package treecmp

import (
	"fmt"
	"path"
	"strings"
)

// Options of a comparison.
type Options struct {
	// Ignore lists paths, relative to both roots ("/var/opt/drd"), left out
	// of the comparison with everything below them.
	Ignore []string
	// IgnoreAtime leaves access times out.
	IgnoreAtime bool
	// SparseSlack is how many bytes more a regular file may take on disk in
	// b than in a (block maps and extent trees differ slightly); 0 means
	// 64 KiB.
	SparseSlack int64
}

// Diff is one difference: What of the entry at Path (relative to the roots,
// starting with "/"), as A and B show it.
type Diff struct {
	Path string
	What string // "type", "mode", "owner", "size", "content", "holes", "allocated", "symlink target", "device", "hard links", "xattr <name>", "mtime", "atime", "only in a", "only in b"
	A, B string
}

func (d Diff) String() string {
	switch d.What {
	case "only in a":
		return fmt.Sprintf("%s: only in a (%s)", d.Path, d.A)
	case "only in b":
		return fmt.Sprintf("%s: only in b (%s)", d.Path, d.B)
	}
	return fmt.Sprintf("%s: %s differs: a %s, b %s", d.Path, d.What, d.A, d.B)
}

// Compare walks the trees at a and b and returns their differences, sorted
// by path. An error means a tree could not be read, not that they differ.
func Compare(a, b string, opt Options) ([]Diff, error) {
	ignore, err := cleanPaths(opt.Ignore)
	if err != nil {
		return nil, err
	}
	if opt.SparseSlack == 0 {
		opt.SparseSlack = 64 << 10
	}
	ta, err := scan(a, ignore)
	if err != nil {
		return nil, err
	}
	tb, err := scan(b, ignore)
	if err != nil {
		return nil, err
	}
	return compareTrees(ta, tb, opt)
}

// cleanPaths turns "var/opt/drd/", "/var/opt/drd" into "/var/opt/drd".
func cleanPaths(list []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, p := range list {
		if p == "" || strings.Contains("/"+p+"/", "/../") {
			return nil, fmt.Errorf("treecmp: ignore %q: give a path inside the trees, such as /var/opt/drd", p)
		}
		out[path.Clean("/"+p)] = true
	}
	return out, nil
}

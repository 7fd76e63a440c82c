package clone

import (
	"path/filepath"
	"slices"
	"strings"
)

// excludesFor turns image paths to leave out into paths relative to the
// file system mounted at mountPoint: each path belongs to the deepest
// mount point that contains it.
func excludesFor(mountPoint string, excludes, mountPoints []string) []string {
	var out []string
	for _, e := range excludes {
		e = filepath.Clean("/" + e)
		owner := "/"
		for _, mp := range mountPoints {
			if _, ok := inside(mp, e); ok && len(mp) > len(owner) {
				owner = mp
			}
		}
		if owner != mountPoint {
			continue
		}
		if rel, ok := inside(mountPoint, e); ok && rel != "/" {
			out = append(out, rel)
		}
	}
	return out
}

// rootFSOnly are image paths that live in the root file system even when
// a file system of their own is mounted over their directory (the
// record, see bootenv.ReadRecord): excluded from the root's copy too.
var rootFSOnly = []string{"/var/opt/drd/image.json"}

// copyExcludes are the paths (relative to the file system at mountPoint)
// that copying it leaves out: excludesFor's, and on / rootFSOnly.
func copyExcludes(mountPoint string, excludes, mountPoints []string) []string {
	out := excludesFor(mountPoint, excludes, mountPoints)
	if mountPoint == "/" {
		for _, p := range rootFSOnly {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// inside reports whether p is dir or below it, and p relative to dir
// ("/" for dir itself).
func inside(dir, p string) (string, bool) {
	dir, p = filepath.Clean(dir), filepath.Clean(p)
	switch {
	case dir == "/":
		return p, true
	case p == dir:
		return "/", true
	case strings.HasPrefix(p, dir+"/"):
		return p[len(dir):], true
	}
	return "", false
}

func mountPoints(fs []TargetFS) []string {
	var mps []string
	for _, f := range fs {
		mps = append(mps, f.MountPoint)
	}
	return mps
}

package clone

import (
	"path/filepath"
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

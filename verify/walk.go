package verify

import (
	"context"
	"io/fs"
	"path"
	"strings"

	"github.com/drd-linux/drd/internal/inroot"
)

// unknownFiles lists the regular files under dirs that are not owned
// nor ignored. Links are not followed: a system directory that is a link
// (/bin on a merged /usr) is searched where it leads, as itself.
func unknownFiles(ctx context.Context, tr inroot.Tree, dirs []string, owned map[string]bool, ignore Patterns) ([]Finding, []Skip) {
	var found []Finding
	var skipped []Skip
	stack := []string{}
	for _, d := range dirs {
		if fi, err := tr.Lstat(d); err == nil && fi.IsDir() {
			stack = append(stack, d)
		}
	}
	for len(stack) > 0 && ctx.Err() == nil {
		dir := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ents, err := tr.ReadDir(dir)
		if err != nil {
			skipped = append(skipped, Skip{Path: dir, Reason: err.Error()})
			continue
		}
		for _, e := range ents {
			p := path.Join(dir, e.Name())
			switch t := e.Type(); {
			case t.IsDir():
				stack = append(stack, p)
			case t.IsRegular() && !owned[p] && !ignore.Match(p):
				found = append(found, Finding{Path: p, Kind: Unknown})
			}
		}
	}
	return found, skipped
}

// resolver turns a path of a package's list into the path it has in the
// image: the directories on its way that are links (/bin -> usr/bin on a
// merged /usr) are followed, inside the image. The last component is
// kept: a packaged link is owned as itself.
type resolver struct {
	tr   inroot.Tree
	dirs map[string]string
}

func newResolver(tr inroot.Tree) *resolver {
	return &resolver{tr: tr, dirs: map[string]string{"/": "/"}}
}

func (r *resolver) path(p string) string {
	return path.Join(r.dir(path.Dir(p), 0), path.Base(p))
}

// dir is the real directory d names.
func (r *resolver) dir(d string, depth int) string {
	if c, ok := r.dirs[d]; ok {
		return c
	}
	parent := r.dir(path.Dir(d), depth)
	c := path.Join(parent, path.Base(d))
	if depth < 40 {
		if fi, err := r.tr.Lstat(c); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			if target, err := r.tr.Readlink(c); err == nil {
				if !strings.HasPrefix(target, "/") {
					target = path.Join(parent, target)
				}
				c = r.dir(path.Clean(target), depth+1) // unreadable: kept as listed
			}
		}
	}
	r.dirs[d] = c
	return c
}

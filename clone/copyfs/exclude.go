package copyfs

import (
	"fmt"
	"path"
	"strings"
)

// excludes is the set of excluded paths, relative and clean ("var/tmp";
// "" is the root).
type excludes map[string]bool

// parseExcludes checks and normalizes Options.Exclude: "/var/tmp/",
// "var/tmp" and "./var//tmp" all name var/tmp.
func parseExcludes(list []string) (excludes, error) {
	ex := excludes{}
	for _, p := range list {
		if p == "" {
			return nil, fmt.Errorf("exclude: empty path: give a path relative to the copied tree, such as /var/tmp")
		}
		c := path.Clean("/" + p)
		for _, part := range strings.Split(p, "/") {
			if part == ".." {
				return nil, fmt.Errorf("exclude %q: .. is not allowed: give a path inside the copied tree", p)
			}
		}
		ex[strings.TrimPrefix(c, "/")] = true
	}
	return ex, nil
}

// has tells whether rel is excluded.
func (ex excludes) has(rel string) bool {
	return len(ex) > 0 && ex[rel]
}

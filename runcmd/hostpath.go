package runcmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// hostOnly is an argument of the command that names a file of the
// booted system the runcmd environment cannot see.
type hostOnly struct {
	arg   string // as given: /srv/pkgs/x.deb, ./x.deb, --file=/srv/x
	flag  string // what comes before the path in arg: "--file=", or ""
	path  string // the jail's path it names: /srv/pkgs/x.deb, /x.deb
	host  string // the file on the booted system: /srv/pkgs/x.deb, /home/u/x.deb
	depot string // the directory to give -x depot=
}

// findHostOnly finds the first argument that names a file which exists on
// the booted system but neither in the image nor under a depot: the
// command would fail on it in the jail with a bare "No such file or
// directory". Paths count as paths when absolute, or when relative with a
// "/" or a package file's name (x.deb); a value after "=" (--file=/x,
// -o Dir::Cache=/x) counts too. Relative paths are the caller's (cwd): in
// the jail, commands start in /. It is pure: inImage and onHost answer
// whether a path exists in the image and on the booted system.
func findHostOnly(argv, depots []string, cwd string, inImage, onHost func(string) bool) (hostOnly, bool) {
	for _, a := range argv[1:] {
		p, flag := a, ""
		if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(a, "-") {
			p, flag = v, k+"="
		}
		if p == "" || strings.HasPrefix(p, "-") {
			continue
		}
		var h hostOnly
		switch {
		case filepath.IsAbs(p):
			h = hostOnly{arg: a, flag: flag, path: filepath.Clean(p), host: filepath.Clean(p)}
		case cwd != "" && (strings.Contains(p, "/") || packageFile(p)):
			h = hostOnly{arg: a, flag: flag, path: filepath.Join("/", p), host: filepath.Join(cwd, p)}
		default:
			continue
		}
		if underDepot(h.path, depots) || underDepot(h.path, jailMade) || inImage(h.path) || !onHost(h.host) {
			continue
		}
		h.depot = filepath.Dir(h.host)
		return h, true
	}
	return hostOnly{}, false
}

// jailMade are the jail's own views of the kernel (Plan): what is there
// is not the image's, and a path in them is not judged. /tmp and /run are
// empty file systems of the jail: a host file there is refused.
var jailMade = []string{"/dev", "/proc", "/sys"}

func packageFile(p string) bool {
	return strings.HasSuffix(p, ".deb") || strings.HasSuffix(p, ".rpm") || strings.HasSuffix(p, ".udeb")
}

func underDepot(p string, depots []string) bool {
	for _, d := range depots {
		d = filepath.Clean(d)
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// hostOnlyError says that the file is on the booted system only, and
// gives the command line that shows it in the jail.
func hostOnlyError(h hostOnly, argv []string, image string) error {
	fixed := make([]string, len(argv))
	for i, a := range argv {
		fixed[i] = a
		if a == h.arg { // a relative path made absolute: the jail starts in /
			fixed[i] = h.flag + h.host
		}
	}
	return fmt.Errorf("%s is a file of the booted system; the runcmd environment shows only %s (and starts in /), so %s would not find it: show its directory read-only at the same path with -x depot=, e.g. drd runcmd -x depot=%s %s; nothing was run",
		h.host, image, argv[0], h.depot, strings.Join(fixed, " "))
}

// existsIn tells whether a path exists in the tree at root, symbolic
// links followed inside it (the last one not followed).
func existsIn(root string) func(string) bool {
	return func(p string) bool {
		q, err := inRoot(root, p)
		if err != nil {
			return false
		}
		_, err = os.Lstat(q)
		return err == nil
	}
}

package pkgdb

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/drd-linux/drd/internal/inroot"
)

// dpkg's per-package files, its diversions and the conffiles of its
// status file. Each parser is a pure function of the file's text: the
// text comes from an image and may be damaged or hostile, so a line that
// does not parse is left out, never trusted half-way.

// InfoDir is where dpkg keeps each package's file list (.list) and
// checksums (.md5sums): PKG.list, or PKG:ARCH.list for a package
// installed for several architectures (Multi-Arch: same).
const InfoDir = "/var/lib/dpkg/info"

// Diversions is dpkg-divert's database.
const Diversions = "/var/lib/dpkg/diversions"

// Sum is one file's MD5 as a package ships it.
type Sum struct {
	Path string // absolute, clean
	MD5  string // 32 lower-case hex digits
}

// cleanAbs makes a path from dpkg's files absolute and clean; "" for one
// that is empty or climbs out of the root ("..").
func cleanAbs(p string) string {
	if p == "" || strings.ContainsRune(p, 0) {
		return ""
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return ""
		}
	}
	c := path.Clean("/" + p)
	if c == "/" {
		return ""
	}
	return c
}

func isMD5(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ParseMD5Sums reads a PKG.md5sums file: "MD5  relative/path" lines, as
// md5sum writes them (the path may hold blanks). Upper-case digits are
// lowered.
func ParseMD5Sums(data string) []Sum {
	var out []Sum
	for _, line := range strings.Split(data, "\n") {
		line = strings.TrimSuffix(line, "\r")
		sum, rest, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		sum = strings.ToLower(sum)
		rest = strings.TrimPrefix(strings.TrimLeft(rest, " "), "*") // "  path" or " *path" (binary mode)
		p := cleanAbs(rest)
		if !isMD5(sum) || p == "" {
			continue
		}
		out = append(out, Sum{Path: p, MD5: sum})
	}
	return out
}

// ParseList reads a PKG.list file: one absolute path a line, directories
// included ("/." for the root, left out).
func ParseList(data string) []string {
	var out []string
	for _, line := range strings.Split(data, "\n") {
		if p := cleanAbs(strings.TrimSuffix(line, "\r")); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Conffile is one configuration file of a package, with the MD5 the
// package shipped (dpkg's status, field Conffiles).
type Conffile struct {
	Path     string
	MD5      string // "newconffile" while dpkg has not recorded it yet
	Obsolete bool   // no longer shipped by the package; dpkg keeps it
}

// ParseConffiles reads the value of a Conffiles field: one
// "/path md5 [obsolete] [remove-on-upgrade]" a line.
func ParseConffiles(field string) []Conffile {
	var out []Conffile
	for _, line := range strings.Split(field, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		// The path may hold blanks: the MD5 is the first word after it
		// that is one (or newconffile), the flags follow.
		i := len(f) - 1
		for i > 1 && (f[i] == "obsolete" || f[i] == "remove-on-upgrade") {
			i--
		}
		sum := strings.ToLower(f[i])
		p := cleanAbs(strings.Join(f[:i], " "))
		if p == "" || !(isMD5(sum) || sum == "newconffile") {
			continue
		}
		c := Conffile{Path: p, MD5: sum}
		for _, flag := range f[i+1:] {
			c.Obsolete = c.Obsolete || flag == "obsolete"
		}
		out = append(out, c)
	}
	return out
}

// Diversion is one dpkg-divert: the file a package installs at From is
// put at To instead, unless Package (the one that diverts; "" for a
// local diversion by the administrator) installs it itself.
type Diversion struct {
	From, To string
	Package  string
}

// ParseDiversions reads dpkg's diversions file: groups of three lines,
// from, to and the diverting package (":" for a local diversion). A
// group with a bad path is left out; a short last group too.
func ParseDiversions(data string) []Diversion {
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	var out []Diversion
	for i := 0; i+2 < len(lines); i += 3 {
		from, to := cleanAbs(lines[i]), cleanAbs(lines[i+1])
		pkg := strings.TrimSpace(lines[i+2])
		if from == "" || to == "" || from == to {
			continue
		}
		if pkg == ":" {
			pkg = ""
		}
		out = append(out, Diversion{From: from, To: to, Package: pkg})
	}
	return out
}

// Installed is one package of dpkg's status file, with what verify needs.
type Installed struct {
	Name, Arch, Version string
	State               string // installed, half-configured, config-files...
	MultiArchSame       bool   // its info files are named PKG:ARCH
	Conffiles           []Conffile
}

// Key is the package as dpkg names it in its info directory and in a
// diversion: "name", or "name:arch" for a Multi-Arch: same package.
func (p Installed) Key() string {
	if p.MultiArchSame && p.Arch != "" {
		return p.Name + ":" + p.Arch
	}
	return p.Name
}

// ParseInstalled reads dpkg's status file (and journal stanzas appended
// to it: a later stanza of a package wins): every package not in state
// not-installed, in the order first met.
func ParseInstalled(data string) []Installed {
	idx := map[string]int{}
	var out []Installed
	for _, para := range strings.Split(data, "\n\n") {
		f := ParseControl(para)
		st := strings.Fields(f["Status"])
		name := f["Package"]
		if name == "" || strings.ContainsAny(name, "/: \t") || len(st) != 3 {
			continue
		}
		p := Installed{Name: name, Arch: f["Architecture"], Version: f["Version"], State: st[2],
			MultiArchSame: f["Multi-Arch"] == "same", Conffiles: ParseConffiles(f["Conffiles"])}
		key := name + ":" + p.Arch
		if i, ok := idx[key]; ok {
			out[i] = p
			continue
		}
		idx[key] = len(out)
		out = append(out, p)
	}
	kept := out[:0]
	for _, p := range out {
		if p.State != "not-installed" {
			kept = append(kept, p)
		}
	}
	return kept
}

// ReadInfo reads the info file PKG.<ext> ("md5sums", "list") of the
// package named key in the image at root; ok is false when the package
// has none (an error other than a missing file is returned).
func ReadInfo(root, key, ext string) (data string, ok bool, err error) {
	if strings.ContainsAny(key, "/\x00") || key == "" {
		return "", false, fmt.Errorf("package name %q in dpkg's status file of %s: not a name; repair the status file", key, root)
	}
	b, err := inroot.Mounts(root).ReadFile(path.Join(InfoDir, key+"."+ext))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(b), true, nil
}

// ReadDiversions reads the diversions of the image at root (none when
// it has no diversions file).
func ReadDiversions(root string) ([]Diversion, error) {
	b, err := inroot.Mounts(root).ReadFile(Diversions)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseDiversions(string(b)), nil
}

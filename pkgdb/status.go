// Package pkgdb reads the package databases of an image (dpkg's status
// file and its journal): the one place runcmd's records, sync, verify,
// diff and export's base identity take an image's packages from. Every
// path is opened inside the image's root (internal/inroot): a database
// is input from the image, as hostile as any file in it.
package pkgdb

import (
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/drd-linux/drd/internal/inroot"
)

// DpkgStatus is where dpkg keeps the state of every package of an image.
const DpkgStatus = "/var/lib/dpkg/status"

// Packages maps "name:arch" to the version a package has, followed by
// its dpkg state in parentheses when that is not "installed".
type Packages map[string]string

// ParseStatus reads dpkg's status file. Packages that are not installed
// at all are left out.
func ParseStatus(data string) Packages {
	ps := Packages{}
	for _, para := range strings.Split(data, "\n\n") {
		f := ParseControl(para)
		name := f["Package"]
		status := strings.Fields(f["Status"])
		if name == "" || len(status) != 3 || status[2] == "not-installed" {
			continue
		}
		v := f["Version"]
		if status[2] != "installed" {
			v += " (" + status[2] + ")"
		}
		ps[name+":"+f["Architecture"]] = v
	}
	return ps
}

// Read reads the packages of the image at root; an image without dpkg
// has none. dpkg journals changes in /var/lib/dpkg/updates/NNNN before it
// merges them into the status file: an interrupted dpkg leaves them
// there, and they count.
func Read(root string) Packages {
	text, err := StatusText(root)
	if err != nil {
		return Packages{}
	}
	return ParseStatus(text)
}

// StatusText is dpkg's status file of the image at root followed by the
// stanzas of its journal, in the order dpkg would merge them.
func StatusText(root string) (string, error) {
	tr := inroot.Mounts(root)
	data, err := tr.ReadFile(DpkgStatus)
	if err != nil {
		return "", err
	}
	text := string(data)
	updates := filepath.Join(filepath.Dir(DpkgStatus), "updates")
	ents, _ := tr.ReadDir(updates)
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	for _, e := range ents {
		if strings.Trim(e.Name(), "0123456789") != "" {
			continue // tmp.i and the like
		}
		if b, err := tr.ReadFile(filepath.Join(updates, e.Name())); err == nil {
			text += "\n\n" + string(b) // later stanzas of a package win
		}
	}
	return text, nil
}

// Stamp tells whether dpkg's database in the image at root changed: a
// hash of the status file and of the journal's entries (reading them
// costs far less than parsing them).
func Stamp(root string) string {
	h := sha256.New()
	tr := inroot.Mounts(root)
	admin := filepath.Dir(DpkgStatus)
	files := []string{DpkgStatus}
	ents, _ := tr.ReadDir(filepath.Join(admin, "updates"))
	for _, e := range ents {
		files = append(files, filepath.Join(admin, "updates", e.Name()))
	}
	for _, f := range files {
		b, err := tr.ReadFile(f)
		fmt.Fprintf(h, "%s %d %v\n", f, len(b), err != nil)
		h.Write(b)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// Change is one package changed between two package lists.
type Change struct {
	Package string `json:"package"`
	From    string `json:"from,omitempty"` // version before; "" if it was not installed
	To      string `json:"to,omitempty"`   // version after; "" if it was removed
}

// Diff lists what changed from before to after, by package name (with
// its architecture when the name has several).
func Diff(before, after Packages) []Change {
	names := map[string]int{}
	keys := map[string]bool{}
	for _, ps := range []Packages{before, after} {
		for k := range ps {
			if !keys[k] {
				keys[k] = true
				n, _, _ := strings.Cut(k, ":")
				names[n]++
			}
		}
	}
	var out []Change
	for k := range keys {
		if before[k] == after[k] {
			continue
		}
		n, arch, _ := strings.Cut(k, ":")
		if names[n] > 1 {
			n += ":" + arch
		}
		out = append(out, Change{Package: n, From: before[k], To: after[k]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Package < out[j].Package })
	return out
}

// Text says a change in words: "installed nginx-light 1.22.1-9".
func (c Change) Text() string {
	switch {
	case c.From == "":
		return "installed " + c.Package + " " + c.To
	case c.To == "":
		return "removed " + c.Package + " " + c.From
	}
	return "changed " + c.Package + " " + c.From + " -> " + c.To
}

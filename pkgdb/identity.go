package pkgdb

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	"github.com/drd-linux/drd/internal/inroot"
)

// Digest is the package half of an image's base identity: the sha256 of
// the sorted lines `"name:arch"="version"`, one per package, each ending
// in a newline, name and version quoted (strconv.Quote) so that no version
// can forge another line. Two images with the same packages at the same
// versions have the same digest.
func Digest(ps Packages) string {
	lines := make([]string, 0, len(ps))
	for name, v := range ps {
		lines = append(lines, strconv.Quote(name)+"="+strconv.Quote(v)+"\n")
	}
	slices.Sort(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "")))
	return hex.EncodeToString(sum[:])
}

// OSRelease reads the image's os-release (/etc/os-release, else
// /usr/lib/os-release) as a map: the ID, VERSION_ID and the like that make
// the other half of its base identity. Quotes are removed; lines that are
// not KEY=value are ignored; nil if there is none.
func OSRelease(root string) map[string]string {
	tr := inroot.Mounts(root)
	data, err := tr.ReadFile("etc/os-release")
	if err != nil {
		if data, err = tr.ReadFile("usr/lib/os-release"); err != nil {
			return nil
		}
	}
	return ParseOSRelease(string(data))
}

// ParseOSRelease parses os-release text; at most 64 fields are kept.
func ParseOSRelease(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || k == "" || strings.HasPrefix(k, "#") || len(out) >= 64 || len(k) > 64 || len(v) > 1024 {
			continue
		}
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		} else {
			v = strings.Trim(v, `'"`)
		}
		out[k] = v
	}
	return out
}

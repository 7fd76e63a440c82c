package bootenv

import (
	"bufio"
	"bytes"
	"fmt"
	"github.com/drd-linux/drd/internal/mountinfo"
	"strings"
)

// FstabEntry is one mount line of /etc/fstab.
type FstabEntry struct {
	Spec, File, Type, Options string
	Line                      int // 1-based line number in the file
}

// ParseFstab parses fstab text. Comments and blank lines are skipped; a
// line with fewer than three fields is an error naming its line.
func ParseFstab(data []byte) ([]FstabEntry, error) {
	var es []FstabEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(stripComment(sc.Text()))
		if len(f) == 0 {
			continue
		}
		if len(f) < 3 {
			return nil, fmt.Errorf("fstab line %d: want at least 3 fields (device, mount point, type), got %q", n, sc.Text())
		}
		e := FstabEntry{Spec: mountinfo.Unescape(f[0]), File: mountinfo.Unescape(f[1]), Type: f[2], Options: "defaults", Line: n}
		if len(f) > 3 {
			e.Options = f[3]
		}
		es = append(es, e)
	}
	return es, sc.Err()
}

func stripComment(line string) string {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		return line[:i]
	}
	return line
}

// HasOption reports whether a comma-separated option list holds opt.
func HasOption(options, opt string) bool {
	for _, o := range strings.Split(options, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

// DevSpec is a device as fstab and crypttab name it: UUID=…, LABEL=…,
// PARTUUID=…, PARTLABEL=…, /dev/disk/by-*/…, a logical volume as
// /dev/mapper/vg-lv or /dev/vg/lv, or a device path.
type DevSpec struct {
	Kind  string // "UUID", "LABEL", "PARTUUID", "PARTLABEL", "MAPPER", "VGLV" or "PATH"
	Value string // the identifier; the whole path for MAPPER, VGLV and PATH
	ByDir bool   // written as /dev/disk/by-<kind>/<value>
}

var byDirs = map[string]string{
	"/dev/disk/by-uuid/":      "UUID",
	"/dev/disk/by-label/":     "LABEL",
	"/dev/disk/by-partuuid/":  "PARTUUID",
	"/dev/disk/by-partlabel/": "PARTLABEL",
}

// ParseDevSpec classifies a device specification.
func ParseDevSpec(s string) DevSpec {
	for _, k := range []string{"UUID", "LABEL", "PARTUUID", "PARTLABEL"} {
		if v, ok := strings.CutPrefix(s, k+"="); ok {
			return DevSpec{Kind: k, Value: strings.Trim(v, `"`)}
		}
	}
	for dir, k := range byDirs {
		if v, ok := strings.CutPrefix(s, dir); ok {
			return DevSpec{Kind: k, Value: unhexEscape(v), ByDir: true}
		}
	}
	if strings.HasPrefix(s, "/dev/mapper/") {
		return DevSpec{Kind: "MAPPER", Value: s}
	}
	if rest, ok := strings.CutPrefix(s, "/dev/"); ok {
		vg, lv, two := strings.Cut(rest, "/")
		if two && vg != "" && lv != "" && !strings.Contains(lv, "/") && !notVGDirs[vg] {
			return DevSpec{Kind: "VGLV", Value: s}
		}
	}
	return DevSpec{Kind: "PATH", Value: s}
}

// notVGDirs are directories of /dev that are never an LVM volume group.
var notVGDirs = map[string]bool{"disk": true, "mapper": true, "md": true, "block": true, "char": true,
	"bus": true, "input": true, "net": true, "pts": true, "shm": true, "snd": true, "dri": true, "cpu": true, "vfio": true}

// String writes the spec back in its own notation.
func (d DevSpec) String() string {
	switch {
	case d.Kind == "PATH" || d.Kind == "MAPPER" || d.Kind == "VGLV":
		return d.Value
	case d.ByDir:
		return "/dev/disk/by-" + strings.ToLower(d.Kind) + "/" + hexEscape(d.Value)
	default:
		return d.Kind + "=" + d.Value
	}
}

// DevID is what identifies a block device. VG and LV name a logical
// volume (empty for any other device).
type DevID struct {
	Path, UUID, Label, PartUUID, PartLabel string
	VG, LV                                 string
}

// Matches reports whether the spec names the device.
func (d DevSpec) Matches(id DevID) bool {
	eq := func(a, b string) bool { return a != "" && strings.EqualFold(a, b) }
	switch d.Kind {
	case "UUID":
		return eq(d.Value, id.UUID)
	case "LABEL":
		return d.Value != "" && d.Value == id.Label
	case "PARTUUID":
		return eq(d.Value, id.PartUUID)
	case "PARTLABEL":
		return d.Value != "" && d.Value == id.PartLabel
	case "MAPPER", "VGLV":
		if id.LV != "" && d.Value == id.Value(d.Kind) {
			return true
		}
	}
	return d.Value != "" && d.Value == id.Path
}

// Value of kind k for id, used when a spec is rewritten to another device.
func (id DevID) Value(kind string) string {
	switch kind {
	case "UUID":
		return id.UUID
	case "LABEL":
		return id.Label
	case "PARTUUID":
		return id.PartUUID
	case "PARTLABEL":
		return id.PartLabel
	case "MAPPER", "VGLV":
		if id.LV == "" {
			return ""
		}
		if kind == "MAPPER" {
			return "/dev/mapper/" + DMName(id.VG, id.LV)
		}
		return "/dev/" + id.VG + "/" + id.LV
	}
	return id.Path
}

// udev escapes characters of labels in /dev/disk/by-label as \xNN.
func hexEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '/' || c == ' ' || c == '\\' || c < 0x20 {
			fmt.Fprintf(&b, `\x%02x`, c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func unhexEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		var c byte
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if _, err := fmt.Sscanf(s[i+2:i+4], "%02x", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

package mountinfo

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzParse: any mountinfo text is read or refused; every mount read has
// a mount point, a type and options without blanks, and no more mounts
// than lines.
func FuzzParse(f *testing.F) {
	f.Add([]byte("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"))
	f.Add([]byte("22 1 259:3 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p3 rw\n\n30 22 0:25 /a\\040b /mnt/x\\134y rw - tmpfs tmp\\040fs rw\n"))
	f.Add([]byte("1 2 3 / / rw - ext4\n"))
	f.Add([]byte("x 2 3:4 / / rw - ext4 /dev/sda rw\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := Parse(data)
		if err != nil {
			return
		}
		if lines := strings.Count(string(data), "\n") + 1; len(ms) > lines {
			t.Fatalf("%d mounts from %d lines", len(ms), lines)
		}
		for _, m := range ms {
			if m.MountPoint == "" || m.FSType == "" || m.Options == "" {
				t.Errorf("mount with an empty field: %+v", m)
			}
			if strings.IndexFunc(m.FSType+m.Options, unicode.IsSpace) >= 0 {
				t.Errorf("blank in type or options: %+v", m)
			}
		}
	})
}

// FuzzUnescape: unescaping never makes a string longer, and leaves one
// without a backslash as it is.
func FuzzUnescape(f *testing.F) {
	for _, s := range []string{`/a\040b`, `\134`, `\`, `\04`, `\999`, `/plain`, `\0401`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u := Unescape(s)
		if len(u) > len(s) || !strings.Contains(s, `\`) && u != s {
			t.Errorf("Unescape(%q) = %q", s, u)
		}
	})
}

package pkgdb

import (
	"path"
	"strings"
	"testing"
)

// FuzzParseStatus: every package read from dpkg's status file is
// named name:arch with a name (which dpkg never writes with a colon,
// but a damaged file may).
func FuzzParseStatus(f *testing.F) {
	f.Add("Package: vim\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2:9.0\n\nPackage: old\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: gone\nStatus: purge ok not-installed\n")
	f.Add("Package: a\nStatus: install ok\n\n\n\nStatus: install ok installed\n")
	f.Fuzz(func(t *testing.T, data string) {
		for key := range ParseStatus(data) {
			if strings.LastIndex(key, ":") < 1 {
				t.Errorf("package %q", key)
			}
		}
	})
}

// FuzzParseControl: every field of a control paragraph has a name without
// a colon or a line break.
func FuzzParseControl(f *testing.F) {
	f.Add("Package: vim\nVersion: 2:9.0\nDescription: editor\n more text\n .\n end\n\nPackage: other\n")
	f.Add(" leading continuation\nX-DRD-Safe: yes\nno colon\n: empty\n")
	f.Add("\n\n\nA:b\r\n")
	f.Fuzz(func(t *testing.T, data string) {
		for k := range ParseControl(data) {
			if strings.ContainsAny(k, ":\n") {
				t.Errorf("field name %q", k)
			}
		}
	})
}

// cleanInRoot: every path a parser hands out is absolute, clean and
// inside the root.
func cleanInRoot(t *testing.T, p string) {
	t.Helper()
	if p == "" || p == "/" || p != path.Clean(p) || !strings.HasPrefix(p, "/") || strings.Contains(p, "\x00") {
		t.Errorf("path %q", p)
	}
}

func FuzzParseMD5Sums(f *testing.F) {
	f.Add("d41d8cd98f00b204e9800998ecf8427e  usr/bin/true\n0123456789ABCDEF0123456789abcdef  usr/share/doc/a b/c\n")
	f.Add("xyz  usr/bin/x\nd41d8cd98f00b204e9800998ecf8427e  ../../etc/shadow\nd41d8cd98f00b204e9800998ecf8427e *usr/lib/x\n")
	f.Fuzz(func(t *testing.T, data string) {
		for _, s := range ParseMD5Sums(data) {
			cleanInRoot(t, s.Path)
			if !isMD5(s.MD5) {
				t.Errorf("md5 %q", s.MD5)
			}
		}
	})
}

func FuzzParseList(f *testing.F) {
	f.Add("/.\n/usr\n/usr/bin\n/usr/bin/true\n")
	f.Add("/usr/../../etc\n\n//x//y/\r\n")
	f.Fuzz(func(t *testing.T, data string) {
		for _, p := range ParseList(data) {
			cleanInRoot(t, p)
		}
	})
}

func FuzzParseConffiles(f *testing.F) {
	f.Add("\n/etc/a 0123456789abcdef0123456789abcdef\n/etc/b c d41d8cd98f00b204e9800998ecf8427e obsolete\n/etc/n newconffile remove-on-upgrade")
	f.Add("/etc/x\n../y d41d8cd98f00b204e9800998ecf8427e\n obsolete obsolete")
	f.Fuzz(func(t *testing.T, data string) {
		for _, c := range ParseConffiles(data) {
			cleanInRoot(t, c.Path)
			if !isMD5(c.MD5) && c.MD5 != "newconffile" {
				t.Errorf("md5 %q", c.MD5)
			}
		}
	})
}

func FuzzParseDiversions(f *testing.F) {
	f.Add("/usr/bin/a\n/usr/bin/a.distrib\npkg\n/etc/b\n/etc/b.local\n:\n")
	f.Add("/x\n/x\np\n/../y\n/z\np\n/short\n")
	f.Fuzz(func(t *testing.T, data string) {
		for _, d := range ParseDiversions(data) {
			cleanInRoot(t, d.From)
			cleanInRoot(t, d.To)
			if d.From == d.To || d.Package == ":" {
				t.Errorf("diversion %+v", d)
			}
		}
	})
}

func FuzzParseInstalled(f *testing.F) {
	f.Add("Package: a\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nVersion: 1\nConffiles:\n /etc/a d41d8cd98f00b204e9800998ecf8427e\n\nPackage: b/../x\nStatus: install ok installed\n")
	f.Add("Package: gone\nStatus: purge ok not-installed\n\nPackage: c\nStatus: deinstall ok config-files\n")
	f.Fuzz(func(t *testing.T, data string) {
		for _, p := range ParseInstalled(data) {
			if p.Name == "" || strings.ContainsAny(p.Key(), "/\x00") || p.State == "not-installed" {
				t.Errorf("package %+v", p)
			}
		}
	})
}

package pkgdb

import (
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

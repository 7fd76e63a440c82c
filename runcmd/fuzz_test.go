package runcmd

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParseDpkgStatus: every package read from dpkg's status file is
// named name:arch with a name (which dpkg never writes with a colon,
// but a damaged file may).
func FuzzParseDpkgStatus(f *testing.F) {
	f.Add("Package: vim\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2:9.0\n\nPackage: old\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: gone\nStatus: purge ok not-installed\n")
	f.Add("Package: a\nStatus: install ok\n\n\n\nStatus: install ok installed\n")
	f.Fuzz(func(t *testing.T, data string) {
		for key := range ParseDpkgStatus(data) {
			if strings.LastIndex(key, ":") < 1 {
				t.Errorf("package %q", key)
			}
		}
	})
}

// FuzzParseAptHook: every operation read from apt's hook has a package
// and one of the three actions; an install names its .deb.
func FuzzParseAptHook(f *testing.F) {
	f.Add("VERSION 3\nAPT::Architecture=amd64\n\nvim - - none < 2:9.0 amd64 same /var/cache/apt/archives/vim.deb\nold 1 amd64 none > - - none **REMOVE**\nx 1 amd64 none = 1 amd64 none **CONFIGURE**\n")
	f.Add("VERSION 2\n")
	f.Add("VERSION 3\n\ntoo few fields\n")
	f.Fuzz(func(t *testing.T, input string) {
		ops, err := ParseAptHook(strings.NewReader(input))
		if err != nil {
			return
		}
		for _, op := range ops {
			if op.Package == "" || !slices.Contains([]string{"install", "configure", "remove"}, op.Action) || (op.Action == "install") != (op.File != "") {
				t.Errorf("operation %+v", op)
			}
		}
	})
}

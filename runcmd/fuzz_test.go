package runcmd

import (
	"slices"
	"strings"
	"testing"
)

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

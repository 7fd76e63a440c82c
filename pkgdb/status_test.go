package pkgdb

import (
	"slices"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	before := ParseStatus("Package: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n\n" +
		"Package: b\nStatus: install ok installed\nArchitecture: all\nVersion: 2\n\n" +
		"Package: c\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3\n\n" +
		"Package: gone\nStatus: purge ok not-installed\nArchitecture: amd64\n")
	after := ParseStatus("Package: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.1\n\n" +
		"Package: c\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 3\n\n" +
		"Package: n\nStatus: install ok installed\nArchitecture: amd64\nVersion: 9\n\n" +
		"Package: n\nStatus: install ok installed\nArchitecture: i386\nVersion: 9\n")
	got := Diff(before, after)
	want := []Change{{Package: "a", From: "1", To: "1.1"}, {Package: "b", From: "2"}, {Package: "c", From: "3", To: "3 (config-files)"},
		{Package: "n:amd64", To: "9"}, {Package: "n:i386", To: "9"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	var texts []string
	for _, c := range got[:2] {
		texts = append(texts, c.Text())
	}
	if strings.Join(texts, "; ") != "changed a 1 -> 1.1; removed b 2" {
		t.Errorf("texts %q", texts)
	}
}

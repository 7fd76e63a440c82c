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

func TestDigestIsOrderFreeAndVersionSensitive(t *testing.T) {
	a := Packages{"bash:amd64": "5.2", "nginx:amd64": "1.22"}
	b := Packages{"nginx:amd64": "1.22", "bash:amd64": "5.2"}
	if Digest(a) != Digest(b) {
		t.Error("the same packages gave two digests")
	}
	b["nginx:amd64"] = "1.23"
	if Digest(a) == Digest(b) {
		t.Error("another version gave the same digest")
	}
	if Digest(Packages{"a:x": "1", "b:x": "2"}) == Digest(Packages{"a:x": "1\nb:x=2"}) {
		t.Error("a newline in a version forged another list")
	}
}

func TestParseOSRelease(t *testing.T) {
	got := ParseOSRelease("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n# c\nVERSION_ID='12'\nbad line\n")
	if got["ID"] != "debian" || got["VERSION_ID"] != "12" || got["PRETTY_NAME"] != "Debian GNU/Linux 12 (bookworm)" || len(got) != 3 {
		t.Errorf("got %v", got)
	}
}

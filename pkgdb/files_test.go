package pkgdb

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseFiles(t *testing.T) {
	sums := ParseMD5Sums("d41d8cd98f00b204e9800998ecf8427e  usr/bin/true\nD41D8CD98F00B204E9800998ECF8427E  usr/share/doc/a b\nbad  usr/x\nd41d8cd98f00b204e9800998ecf8427e  ../etc/shadow\n")
	want := []Sum{{"/usr/bin/true", "d41d8cd98f00b204e9800998ecf8427e"}, {"/usr/share/doc/a b", "d41d8cd98f00b204e9800998ecf8427e"}}
	if !reflect.DeepEqual(sums, want) {
		t.Errorf("md5sums %+v", sums)
	}
	if got := ParseList("/.\n/usr\n/usr/bin/true\n"); !reflect.DeepEqual(got, []string{"/usr", "/usr/bin/true"}) {
		t.Errorf("list %q", got)
	}
	cf := ParseConffiles("\n /etc/a b 0123456789abcdef0123456789abcdef\n /etc/old d41d8cd98f00b204e9800998ecf8427e obsolete\n /etc/n newconffile remove-on-upgrade\n /etc/bad nothex")
	wantCF := []Conffile{{"/etc/a b", "0123456789abcdef0123456789abcdef", false}, {"/etc/old", "d41d8cd98f00b204e9800998ecf8427e", true}, {"/etc/n", "newconffile", false}}
	if !reflect.DeepEqual(cf, wantCF) {
		t.Errorf("conffiles %+v", cf)
	}
	dv := ParseDiversions("/usr/bin/a\n/usr/bin/a.distrib\npkg\n/etc/b\n/etc/b.local\n:\n/x\n")
	wantDV := []Diversion{{"/usr/bin/a", "/usr/bin/a.distrib", "pkg"}, {"/etc/b", "/etc/b.local", ""}}
	if !reflect.DeepEqual(dv, wantDV) {
		t.Errorf("diversions %+v", dv)
	}
	ps := ParseInstalled("Package: a\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nVersion: 1\n\n" +
		"Package: b\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n\nPackage: b\nStatus: purge ok not-installed\nArchitecture: all\n")
	if len(ps) != 1 || ps[0].Key() != "a:amd64" {
		t.Errorf("installed %+v", ps)
	}
}

func TestReadInfo(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, InfoDir), 0o755)
	os.WriteFile(filepath.Join(root, InfoDir, "a.list"), []byte("/usr\n"), 0o644)
	if d, ok, err := ReadInfo(root, "a", "list"); d != "/usr\n" || !ok || err != nil {
		t.Errorf("a.list: %q %v %v", d, ok, err)
	}
	if _, ok, err := ReadInfo(root, "b", "list"); ok || err != nil {
		t.Errorf("b.list: %v %v", ok, err)
	}
	if _, _, err := ReadInfo(root, "../../etc/x", "list"); err == nil {
		t.Error("a name with a slash was read")
	}
	if dv, err := ReadDiversions(root); dv != nil || err != nil {
		t.Errorf("no diversions file: %v %v", dv, err)
	}
}

// TestReadJournal: the stanzas dpkg journalled in updates/ win over the
// status file, in the order of their numbers; other files there do not
// count.
func TestReadJournal(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, filepath.Dir(DpkgStatus))
	os.MkdirAll(filepath.Join(dir, "updates"), 0o755)
	os.WriteFile(filepath.Join(root, DpkgStatus), []byte("Package: a\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "updates", "0002"), []byte("Package: a\nStatus: install ok installed\nArchitecture: all\nVersion: 3\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "updates", "0001"), []byte("Package: a\nStatus: install ok installed\nArchitecture: all\nVersion: 2\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "updates", "tmp.i"), []byte("Package: a\nStatus: install ok installed\nArchitecture: all\nVersion: 9\n"), 0o644)
	if got := Read(root)["a:all"]; got != "3" {
		t.Errorf("a is %q, want 3 (the last journal entry)", got)
	}
	text, err := StatusText(root)
	if err != nil {
		t.Fatal(err)
	}
	if ps := ParseInstalled(text); len(ps) != 1 || ps[0].Version != "3" {
		t.Errorf("installed %+v", ps)
	}
	if _, err := StatusText(t.TempDir()); err == nil {
		t.Error("a root without dpkg has a status")
	}
}

package artifact

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entry is one entry of a hand-made archive.
type entry struct {
	name, link string
	typ        byte
	data       string
	pax        map[string]string
}

func makeTar(t testing.TB, entries []entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.data)),
			Uid: os.Getuid(), Gid: os.Getgid(), Format: tar.FormatPAX, PAXRecords: e.pax}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			tw.Write([]byte(e.data))
		}
	}
	tw.Close()
	return buf.Bytes()
}

// A hostile archive writes nothing outside the target and is refused.
func TestUnpackRefusesHostileArchives(t *testing.T) {
	dir := func(n string) entry { return entry{name: n, typ: tar.TypeDir} }
	file := func(n, d string) entry { return entry{name: n, typ: tar.TypeReg, data: d} }
	for _, c := range []struct {
		name    string
		entries []entry
		want    string
	}{
		{"dot-dot", []entry{file("../escaped", "x")}, "leads out"},
		{"dot-dot inside", []entry{dir("a"), file("a/../../escaped", "x")}, "not clean"},
		{"absolute", []entry{file("/escaped", "x")}, "absolute"},
		{"through a planted link", []entry{{name: "a", typ: tar.TypeSymlink, link: "../outside"}, file("a/escaped", "x")}, "not in the archive"},
		{"over a planted link", []entry{{name: "a", typ: tar.TypeSymlink, link: "../outside/escaped"}, file("a", "x")}, "file exists"},
		{"hard link out", []entry{{name: "a", typ: tar.TypeLink, link: "../outside/victim"}}, "no file unpacked before"},
		{"hard link to a directory", []entry{dir("d"), {name: "a", typ: tar.TypeLink, link: "d"}}, "no file unpacked before"},
		{"hard link through a link", []entry{{name: "l", typ: tar.TypeSymlink, link: "../outside"}, {name: "a", typ: tar.TypeLink, link: "l/victim"}}, "no file unpacked before"},
		{"missing parent", []entry{file("nodir/f", "x")}, "not in the archive"},
		{"twice", []entry{file("f", "x"), file("f", "y")}, "file exists"},
		{"directory twice", []entry{dir("d"), dir("d")}, "appears twice"},
		{"sparse map beyond size", []entry{{name: "f", typ: tar.TypeReg, data: "xx", pax: map[string]string{paxSparseSize: "4", paxSparseMap: "3,2"}}}, "bad sparse map"},
		{"sparse map overlapping", []entry{{name: "f", typ: tar.TypeReg, data: "xxxx", pax: map[string]string{paxSparseSize: "10", paxSparseMap: "0,2,1,2"}}}, "bad sparse map"},
		{"sparse map short", []entry{{name: "f", typ: tar.TypeReg, data: "xxxx", pax: map[string]string{paxSparseSize: "10", paxSparseMap: "0,2"}}}, "holds 2 bytes"},
		{"sparse huge", []entry{{name: "f", typ: tar.TypeReg, pax: map[string]string{paxSparseSize: "99999999999999999", paxSparseMap: ""}}}, "bad sparse size"},
		{"big xattr", []entry{{name: "f", typ: tar.TypeReg, pax: map[string]string{paxXattr + "user.x": strings.Repeat("x", MaxXattrValue+1)}}}, "out of bounds"},
		{"unknown type", []entry{{name: "f", typ: 'V'}}, "not one drd writes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			dst, outside := filepath.Join(base, "dst"), filepath.Join(base, "outside")
			os.Mkdir(dst, 0o755)
			os.Mkdir(outside, 0o755)
			os.WriteFile(filepath.Join(outside, "victim"), []byte("v"), 0o644)
			_, err := Unpack(context.Background(), bytes.NewReader(makeTar(t, c.entries)), dst, UnpackOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Unpack: %v, want an error with %q", err, c.want)
			}
			assertOnly(t, base, "dst", "outside", "outside/victim")
			if b, _ := os.ReadFile(filepath.Join(outside, "victim")); string(b) != "v" {
				t.Errorf("outside/victim changed: %q", b)
			}
		})
	}
}

// assertOnly fails unless base holds exactly the names want (below dst, anything).
func assertOnly(t testing.TB, base string, want ...string) {
	t.Helper()
	have := map[string]bool{}
	filepath.Walk(base, func(p string, _ os.FileInfo, _ error) error {
		rel, _ := filepath.Rel(base, p)
		if rel != "." && rel != "dst" && !strings.HasPrefix(rel, "dst/") {
			have[rel] = true
		}
		return nil
	})
	for _, w := range want {
		if w != "dst" && !have[w] {
			t.Errorf("%s is gone", w)
		}
		delete(have, w)
	}
	for n := range have {
		t.Errorf("%s was made outside the target", n)
	}
}

// A good hand-made archive is unpacked: sparse file, links, lost+found kept.
func TestUnpackSparseAndLinks(t *testing.T) {
	dst := t.TempDir()
	os.Mkdir(filepath.Join(dst, "lost+found"), 0o700)
	data := makeTar(t, []entry{
		{name: ".", typ: tar.TypeDir}, {name: "lost+found", typ: tar.TypeDir}, {name: "d", typ: tar.TypeDir},
		{name: "d/f", typ: tar.TypeReg, data: "abcdef", pax: map[string]string{paxSparseSize: "1048580", paxSparseMap: "0,2,1048576,4"}},
		{name: "d/l", typ: tar.TypeLink, link: "d/f"},
		{name: "s", typ: tar.TypeSymlink, link: "/etc/passwd"},
	})
	st, err := Unpack(context.Background(), bytes.NewReader(data), dst, UnpackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dst, "d/l"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1048580 || string(got[:2]) != "ab" || string(got[1048576:]) != "cdef" || got[100] != 0 {
		t.Errorf("sparse file: %d bytes, %q...%q", len(got), got[:2], got[len(got)-4:])
	}
	if st.Bytes != 6 {
		t.Errorf("bytes written: %d, want 6", st.Bytes)
	}
	if l, _ := os.Readlink(filepath.Join(dst, "s")); l != "/etc/passwd" {
		t.Errorf("link: %q", l)
	}
}

// A delta goes into directories the target has, but never through a link
// there, and its whiteouts stay inside.
func TestUnpackDeltaStaysInside(t *testing.T) {
	for _, c := range []struct {
		name    string
		entries []entry
		want    string
	}{
		{"through a link of the base", []entry{{name: "planted/escaped", typ: tar.TypeReg, data: "x"}}, "too many levels of symbolic links"},
		{"whiteout through a link", []entry{{name: "planted/victim", typ: tar.TypeReg, pax: map[string]string{paxWhiteout: "1"}}}, "too many levels of symbolic links"},
		{"whiteout out", []entry{{name: "../outside/victim", typ: tar.TypeReg, pax: map[string]string{paxWhiteout: "1"}}}, "leads out"},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			dst, outside := filepath.Join(base, "dst"), filepath.Join(base, "outside")
			os.Mkdir(dst, 0o755)
			os.Mkdir(outside, 0o755)
			os.WriteFile(filepath.Join(outside, "victim"), []byte("v"), 0o644)
			os.Symlink("../outside", filepath.Join(dst, "planted"))
			_, err := Unpack(context.Background(), bytes.NewReader(makeTar(t, c.entries)), dst, UnpackOptions{Delta: true})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Unpack: %v, want an error with %q", err, c.want)
			}
			assertOnly(t, base, "dst", "outside", "outside/victim")
		})
	}
	// a whiteout in a full archive is refused
	dst := t.TempDir()
	if _, err := Unpack(context.Background(), bytes.NewReader(makeTar(t, []entry{{name: "x", typ: tar.TypeReg, pax: map[string]string{paxWhiteout: "1"}}})), dst, UnpackOptions{}); err == nil {
		t.Error("a whiteout outside a delta was accepted")
	}
}

// Entries of one directory need not come together: the unpacker keeps the
// last entry's directory open, and an entry of another one (back to one
// before, into a new one, a hard link across) goes where its name says.
func TestUnpackAcrossDirectories(t *testing.T) {
	dst := t.TempDir()
	data := makeTar(t, []entry{
		{name: "a", typ: tar.TypeDir}, {name: "b", typ: tar.TypeDir},
		{name: "a/x", typ: tar.TypeReg, data: "ax"},
		{name: "b/y", typ: tar.TypeReg, data: "by"},
		{name: "a/z", typ: tar.TypeReg, data: "az"},
		{name: "a/c", typ: tar.TypeDir},
		{name: "a/c/w", typ: tar.TypeReg, data: "acw"},
		{name: "b/l", typ: tar.TypeLink, link: "a/x"},
		{name: "top", typ: tar.TypeReg, data: "top"},
		{name: "b/s", typ: tar.TypeSymlink, link: "../a/z"},
	})
	if _, err := Unpack(context.Background(), bytes.NewReader(data), dst, UnpackOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a/x": "ax", "b/y": "by", "a/z": "az", "a/c/w": "acw", "b/l": "ax", "top": "top", "b/s": "az"} {
		if got, err := os.ReadFile(filepath.Join(dst, name)); err != nil || string(got) != want {
			t.Errorf("%s: %q, %v; want %q", name, got, err, want)
		}
	}
	assertTree(t, dst, "a", "a/c", "a/c/w", "a/x", "a/z", "b", "b/l", "b/s", "b/y", "top")
}

// A delta may remove a directory and make one of the same name: what goes
// into it lands in the new one.
func TestUnpackDeltaRemakesDirectory(t *testing.T) {
	dst := t.TempDir()
	os.MkdirAll(filepath.Join(dst, "d/e"), 0o755)
	os.WriteFile(filepath.Join(dst, "d/e/old"), []byte("old"), 0o644)
	wh := map[string]string{paxWhiteout: "1"}
	data := makeTar(t, []entry{
		{name: "d/e/old", typ: tar.TypeReg, pax: wh},
		{name: "d/e", typ: tar.TypeReg, pax: wh},
		{name: "d", typ: tar.TypeReg, pax: wh},
		{name: "d", typ: tar.TypeDir},
		{name: "d/e", typ: tar.TypeDir},
		{name: "d/e/new", typ: tar.TypeReg, data: "new"},
	})
	if _, err := Unpack(context.Background(), bytes.NewReader(data), dst, UnpackOptions{Delta: true}); err != nil {
		t.Fatal(err)
	}
	assertTree(t, dst, "d", "d/e", "d/e/new")
}

// A file cut short by the end of the archive is an error.
func TestUnpackFileCutShort(t *testing.T) {
	data := makeTar(t, []entry{{name: "f", typ: tar.TypeReg, data: strings.Repeat("x", 600<<10)}})
	if _, err := Unpack(context.Background(), bytes.NewReader(data[:300<<10]), t.TempDir(), UnpackOptions{}); err == nil {
		t.Error("a file cut short was accepted")
	}
}

// assertTree fails unless dir holds exactly the names want.
func assertTree(t testing.TB, dir string, want ...string) {
	t.Helper()
	var have []string
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error {
		if rel, _ := filepath.Rel(dir, p); rel != "." {
			have = append(have, rel)
		}
		return nil
	})
	if strings.Join(have, " ") != strings.Join(want, " ") {
		t.Errorf("%s holds %q, want %q", dir, have, want)
	}
}

package copyfs

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// dirent64 encodes one linux_dirent64 record, padded to 8 bytes.
func dirent64(ino uint64, typ uint8, name string) []byte {
	reclen := (19 + len(name) + 1 + 7) &^ 7
	b := make([]byte, reclen)
	binary.LittleEndian.PutUint64(b, ino)
	binary.LittleEndian.PutUint16(b[16:], uint16(reclen))
	b[18] = typ
	copy(b[19:], name)
	return b
}

func TestParseDirents(t *testing.T) {
	var buf []byte
	buf = append(buf, dirent64(2, unix.DT_DIR, ".")...)
	buf = append(buf, dirent64(1, unix.DT_DIR, "..")...)
	buf = append(buf, dirent64(12, unix.DT_REG, "file")...)
	buf = append(buf, dirent64(13, unix.DT_LNK, "a-longer-name.txt")...)
	buf = append(buf, dirent64(14, unix.DT_UNKNOWN, "...")...)
	got, err := parseDirents(buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []dirent{{"file", 12, unix.DT_REG}, {"a-longer-name.txt", 13, unix.DT_LNK}, {"...", 14, unix.DT_UNKNOWN}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range [][]byte{buf[:10], append(dirent64(1, 0, "x")[:16], 0xff, 0xff, 0, 0)} {
		if _, err := parseDirents(bad, nil); err == nil {
			t.Errorf("parsed a malformed buffer %x", bad)
		}
	}
}

func TestParseExcludes(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []string
		err  bool
	}{
		{in: []string{"/var/tmp", "var/cache/apt/archives/", "./srv//x"}, want: []string{"srv/x", "var/cache/apt/archives", "var/tmp"}},
		{in: []string{"/"}, want: []string{""}},
		{in: []string{""}, err: true},
		{in: []string{"../etc"}, err: true},
		{in: []string{"/var/../../etc"}, err: true},
	} {
		ex, err := parseExcludes(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("%q: error %v", tc.in, err)
			continue
		}
		var got []string
		for p := range ex {
			got = append(got, p)
		}
		slices.Sort(got)
		if !tc.err && !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPlanLinks(t *testing.T) {
	for _, tc := range []struct {
		name string
		recs []linkRec
		want string
	}{
		{"intact group", []linkRec{{"a", 1, 10}, {"b", 1, 10}}, "[{a false []}]"},
		{"new name", []linkRec{{"a", 1, 10}, {"b", 1, 10}, {"c", 1, 11}}, "[{a false [c]}]"},
		{"majority keeps its inode", []linkRec{{"a", 1, 10}, {"b", 1, 11}, {"c", 1, 11}}, "[{b false [a]}]"},
		{"broken group", []linkRec{{"a", 1, 10}, {"b", 2, 10}}, "[{a false []} {b true []}]"},
		{"joined", []linkRec{{"a", 1, 10}, {"b", 1, 11}}, "[{a false [b]}]"},
		{"swapped", []linkRec{{"a", 1, 10}, {"b", 1, 11}, {"c", 2, 10}, {"d", 2, 11}}, "[{a false [b]} {d false [c]}]"},
		{"all taken", []linkRec{{"a", 1, 10}, {"b", 2, 10}, {"c", 2, 10}}, "[{a false []} {b true [c]}]"},
		{"seen twice", []linkRec{{"a", 1, 10}, {"a", 1, 12}, {"b", 1, 12}}, "[{a false []}]"},
	} {
		if got := fmt.Sprint(planLinks(tc.recs)); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestBefore(t *testing.T) {
	for _, tc := range []struct {
		a, b unix.Timespec
		want bool
	}{
		{unix.Timespec{Sec: 1, Nsec: 5}, unix.Timespec{Sec: 1, Nsec: 6}, true},
		{unix.Timespec{Sec: 1, Nsec: 6}, unix.Timespec{Sec: 1, Nsec: 6}, false},
		{unix.Timespec{Sec: 2}, unix.Timespec{Sec: 1, Nsec: 999999999}, false},
		{unix.Timespec{Sec: 0, Nsec: 999999999}, unix.Timespec{Sec: 1}, true},
	} {
		if got := before(tc.a, tc.b); got != tc.want {
			t.Errorf("before(%v, %v) = %v", tc.a, tc.b, got)
		}
	}
}

func TestWriteXattrsReconciles(t *testing.T) {
	if unix.Setxattr(t.TempDir(), "user.probe", []byte("x"), 0) != nil {
		t.Skip("no user.* attributes in the temporary directory")
	}
	p := t.TempDir()
	unix.Setxattr(p, "user.stale", []byte("old"), 0)
	unix.Setxattr(p, "user.keep", []byte("same"), 0)
	unix.Setxattr(p, "user.change", []byte("old"), 0)
	want := []xattr{{"user.keep", []byte("same")}, {"user.change", []byte("new")}, {"user.add", []byte{0, 1}}}
	buf := make([]byte, 16)
	if err := writeXattrs(xattrIO{fd: -1, path: p}, want, true, &buf); err != nil {
		t.Fatal(err)
	}
	got, err := readXattrs(xattrIO{fd: -1, path: p}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if !equalXattrs(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

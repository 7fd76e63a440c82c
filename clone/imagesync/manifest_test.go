package imagesync

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func sampleManifest() *Manifest {
	return &Manifest{
		FS: []FS{
			{MountPoint: "/", Entries: []Entry{
				{Rel: "", Src: Ident{Type: TypeDir, Ino: 2, Mtime: 1, Ctime: 2}, Dst: Written{Ident: Ident{Type: TypeDir, Ino: 2}, Mode: 0o755}},
				{Rel: "etc", Src: Ident{Type: TypeDir, Ino: 11}, Dst: Written{Ident: Ident{Type: TypeDir, Ino: 12}, Mode: 0o755}},
				{Rel: "etc/passwd", Src: Ident{Type: TypeReg, Ino: 100, Size: 1234, Mtime: 1700000000123456789, Ctime: -5}, Dst: Written{Ident: Ident{Type: TypeReg, Ino: 200, Size: 1234, Mtime: 1700000000123456789, Ctime: 1800000000000000001}, Mode: 0o644, Uid: 0, Gid: 42, Xattr: 0xdeadbeefcafe, Link: 0}},
				{Rel: "etc/pass", Src: Ident{Type: TypeLink, Ino: 101, Size: 6}, Flags: FlagConflict},
				{Rel: "usr/bin/a", Dst: Written{Ident: Ident{Type: TypeReg, Ino: 300}, Mode: 0o4755, Link: 300}},
			}},
			{MountPoint: "/var", Entries: []Entry{{Rel: "", Src: Ident{Type: TypeDir, Ino: 2}, Dst: Written{Ident: Ident{Type: TypeDir, Ino: 2}, Mode: 0o755}}}},
		},
		Packages: map[string]string{"bash:amd64": "5.2-1", "vim:amd64": "2:9.0"},
		Etc:      map[string][]byte{"passwd": []byte("root:x:0:0::/root:/bin/sh\n"), "motd": nil},
	}
}

func TestManifestRoundTrip(t *testing.T) {
	m := sampleManifest()
	// Decode returns entries sorted; sort the sample the same way.
	es := m.FS[0].Entries
	es[2], es[3] = es[3], es[2]
	data := m.Encode()
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Etc["motd"] == nil {
		got.Etc["motd"] = nil
	}
	m.Etc["motd"] = []byte{}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
	}
	if !bytes.Equal(got.Encode(), data) {
		t.Error("encoding is not stable")
	}
	if e := got.FS[0].Find("etc/passwd"); e == nil || e.Dst.Xattr != 0xdeadbeefcafe {
		t.Errorf("Find etc/passwd: %+v", e)
	}
	if got.FS[0].Find("etc/nope") != nil {
		t.Error("Find found a missing entry")
	}
}

func TestDecodeRefuses(t *testing.T) {
	good := sampleManifest()
	good.FS[0].Entries[2], good.FS[0].Entries[3] = good.FS[0].Entries[3], good.FS[0].Entries[2]
	reseal := appendSum
	enc := good.Encode()
	body := enc[:len(enc)-32]
	unsorted := &Manifest{FS: []FS{{MountPoint: "/", Entries: []Entry{{Rel: "b"}, {Rel: "a"}}}}}
	dotdot := &Manifest{FS: []FS{{MountPoint: "/", Entries: []Entry{{Rel: "../etc/shadow"}}}}}
	abs := &Manifest{FS: []FS{{MountPoint: "/", Entries: []Entry{{Rel: "/etc"}}}}}
	badMP := &Manifest{FS: []FS{{MountPoint: "var"}}}
	dupMP := &Manifest{FS: []FS{{MountPoint: "/"}, {MountPoint: "/"}}}
	for name, data := range map[string][]byte{
		"empty":      nil,
		"magic":      append([]byte("DRDSYNC\x02"), enc[8:]...),
		"truncated":  enc[:len(enc)-1],
		"flipped":    append(append([]byte{}, enc[:20]...), append([]byte{enc[20] ^ 1}, enc[21:]...)...),
		"trailing":   reseal(append(append([]byte{}, body...), 0)),
		"unsorted":   unsorted.Encode(),
		"dotdot":     dotdot.Encode(),
		"absolute":   abs.Encode(),
		"mount":      badMP.Encode(),
		"dup mount":  dupMP.Encode(),
		"huge count": reseal(append(append([]byte{}, magic...), 0xff, 0xff, 0xff, 0xff, 0x0f)),
	} {
		if _, err := Decode(data); !errors.Is(err, ErrBadManifest) {
			t.Errorf("%s: got %v, want ErrBadManifest", name, err)
		}
	}
}

// FuzzDecode: Decode never panics, every entry it accepts has a clean
// relative path in order, and what it accepts encodes back to itself.
func FuzzDecode(f *testing.F) {
	f.Add(sampleManifest().Encode())
	f.Add((&Manifest{}).Encode())
	f.Add([]byte("DRDSYNC\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		for _, fs := range m.FS {
			for i, e := range fs.Entries {
				if !validRel(e.Rel) || (i > 0 && e.Rel <= fs.Entries[i-1].Rel) {
					t.Fatalf("accepted entry %q", e.Rel)
				}
			}
		}
		again, err := Decode(m.Encode())
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("re-encoding: %v", err)
		}
	})
}

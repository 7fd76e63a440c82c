package bootenv

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// The fuzz targets of the parsers of what drd reads from an image or a
// disk it did not write itself. Their seeds run with every go test;
// go test -fuzz=FuzzX ./bootenv searches further.

// FuzzReadRecord: any image.json is read or refused, and a record read
// writes back to one that reads the same.
func FuzzReadRecord(f *testing.F) {
	f.Add([]byte(`{"name":"sysimage_001","id":"7c3e","created":"2026-11-21T10:00:00Z","origin":"a1","system":"a1","source_disk":"/dev/sda","target":"/dev/sdb","state":"complete","file_systems":[{"mount_point":"/","device":"/dev/sdb2"}],"history":[{"time":"2026-11-21T10:00:00+01:00","action":"clone","user":"root","result":"succeeded","changes":[{"package":"vim:amd64","to":"2:9.0"}]}]}`))
	f.Add([]byte(`{"name":"x","state":"broken","reason":"interrupted","last_sync":"2026-01-02T03:04:05Z"}`))
	f.Add([]byte(`{"name":`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"created":"10000-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		p := filepath.Join(root, RecordPath)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := ReadRecord(root)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("the error does not name the file: %v", err)
			}
			return
		}
		if err := WriteRecord(root, r); err != nil {
			t.Fatalf("a record read does not write back: %v", err)
		}
		again, err := ReadRecord(root)
		if err != nil {
			t.Fatalf("a record written does not read back: %v", err)
		}
		a, _ := json.Marshal(r)
		b, _ := json.Marshal(again)
		if !bytes.Equal(a, b) {
			t.Errorf("written and read back:\n%s\n%s", a, b)
		}
	})
}

// FuzzParseFstab: every entry has a device, a mount point and a type, no
// blank in the type or the options, and a line number within the file.
func FuzzParseFstab(f *testing.F) {
	f.Add([]byte("# /etc/fstab\nUUID=1234 / ext4 errors=remount-ro 0 1\n/dev/sda1 /boot/efi vfat umask=0077 0 1\n"))
	f.Add([]byte("LABEL=my\\040disk /mnt/a\\040b xfs\nPARTUUID=\"ab\" none swap sw\n"))
	f.Add([]byte("/dev/sda1 /\n"))
	f.Add([]byte("\n\t\n   # only comments\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := ParseFstab(data)
		if err != nil {
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, e := range es {
			if e.Spec == "" || e.File == "" || e.Type == "" || e.Options == "" {
				t.Errorf("entry with an empty field: %+v", e)
			}
			if strings.IndexFunc(e.Type+e.Options, unicode.IsSpace) >= 0 || strings.Contains(e.Type+e.Options, "#") {
				t.Errorf("blank or comment in type or options: %+v", e)
			}
			if e.Line < 1 || e.Line > lines {
				t.Errorf("line %d of a file of %d lines", e.Line, lines)
			}
		}
	})
}

// FuzzDecodeState: a state that decodes encodes to a block that decodes
// to the same state.
func FuzzDecodeState(f *testing.F) {
	for _, s := range []BootState{{Seq: 3, Next: "sysimage_000"}, {Seq: 9, Next: "sysimage_000", Trial: "sysimage_001", Tries: 2, Watchdog: 300}, {Seq: 10, Next: "sysimage_000", Trial: "sysimage_001", Tries: 1}} {
		b, err := EncodeState(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeState(b)
		if err != nil {
			return
		}
		out, err := EncodeState(s)
		if err != nil {
			t.Fatalf("state %+v decoded but does not encode: %v", s, err)
		}
		again, err := DecodeState(out)
		if err != nil || again != s {
			t.Errorf("state %+v encoded and decoded again: %+v, %v", s, again, err)
		}
	})
}

// FuzzParseLVM: the JSON reports of lvs, vgs and pvs are read or refused,
// and every volume read has the names that identify it.
func FuzzParseLVM(f *testing.F) {
	for _, name := range []string{"lvs.json", "vgs.json", "pvs.json"} {
		b, err := os.ReadFile(filepath.Join("testdata/lvm", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"report":[{"lv":[{"vg_name":"v","lv_name":"l","lv_size":"12B","lv_kernel_major":""}]}]}`))
	f.Add([]byte(`{"report":[{"vg":[{"vg_name":"v","vg_size":"x"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if lvs, err := ParseLVs(b); err == nil {
			for _, lv := range lvs {
				if lv.VG == "" || lv.Name == "" {
					t.Errorf("logical volume without names: %+v", lv)
				}
			}
		}
		if vgs, err := ParseVGs(b); err == nil {
			for _, vg := range vgs {
				if vg.Name == "" {
					t.Errorf("volume group without a name: %+v", vg)
				}
			}
		}
		ParsePVs(b)
	})
}

package images

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

const mib = 1 << 20

func TestPlanGPT(t *testing.T) {
	tests := []struct {
		name   string
		disk   int64
		ss     int64
		parts  []Part
		want   [][3]int64 // number, start, size
		errHas string
	}{
		{
			name: "bios esp root rest",
			disk: 64 * mib, ss: 512,
			parts: []Part{{Type: BIOSBoot, Size: 1 * mib}, {Type: ESP, Size: 33 * mib}, {Type: LinuxFS}},
			want:  [][3]int64{{1, 1 * mib, 1 * mib}, {2, 2 * mib, 33 * mib}, {3, 35 * mib, 28 * mib}},
		},
		{
			name: "rest in the middle, sizes rounded up",
			disk: 100 * mib, ss: 512,
			parts: []Part{{Type: ESP, Size: 10*mib + 1}, {Type: LinuxFS}, {Type: Swap, Size: 8 * mib}},
			want:  [][3]int64{{1, 1 * mib, 11 * mib}, {2, 12 * mib, 79 * mib}, {3, 91 * mib, 8 * mib}},
		},
		{
			name: "explicit numbers, 4K sectors",
			disk: 20 * mib, ss: 4096,
			parts: []Part{{Number: 3, Type: LinuxFS, Size: 4 * mib}, {Type: LinuxLVM}, {Number: 1, Type: Swap, Size: 1 * mib}},
			want:  [][3]int64{{3, 1 * mib, 4 * mib}, {2, 5 * mib, 13 * mib}, {1, 18 * mib, 1 * mib}},
		},
		{
			name: "exactly full",
			disk: 10 * mib, ss: 512,
			parts: []Part{{Type: LinuxFS, Size: 8 * mib}},
			want:  [][3]int64{{1, 1 * mib, 8 * mib}},
		},
		{name: "too big", disk: 10 * mib, ss: 512, parts: []Part{{Type: LinuxFS, Size: 9 * mib}}, errHas: "need 9 MiB but the disk has 8 MiB"},
		{name: "no room for rest", disk: 10 * mib, ss: 512, parts: []Part{{Type: LinuxFS, Size: 8 * mib}, {Type: Swap}}, errHas: "need 9 MiB"},
		{name: "two rests", disk: 10 * mib, ss: 512, parts: []Part{{Type: LinuxFS}, {Type: Swap}}, errHas: "both ask for the rest"},
		{name: "duplicate number", disk: 10 * mib, ss: 512, parts: []Part{{Number: 1, Type: LinuxFS, Size: mib}, {Number: 1, Type: Swap, Size: mib}}, errHas: "used twice"},
		{name: "long name", disk: 10 * mib, ss: 512, parts: []Part{{Name: strings.Repeat("x", 37), Type: LinuxFS}}, errHas: "37 UTF-16 units"},
		{name: "other without GUID", disk: 10 * mib, ss: 512, parts: []Part{{Type: PartOther}}, errHas: "type GUID"},
		{name: "bad GUID", disk: 10 * mib, ss: 512, parts: []Part{{Type: LinuxFS, GUID: "nope"}}, errHas: "GUID \"nope\""},
		{name: "tiny disk", disk: 1 * mib, ss: 512, parts: []Part{{Type: LinuxFS}}, errHas: "too small"},
		{name: "no parts", disk: 10 * mib, ss: 512, errHas: "1 to 128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planGPT(tt.disk, tt.ss, tt.parts)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want one containing %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range got {
				if w := tt.want[i]; int64(p.Number) != w[0] || p.Start != w[1] || p.Size != w[2] {
					t.Errorf("part %d = #%d at %d size %d, want #%d at %d size %d", i, p.Number, p.Start, p.Size, w[0], w[1], w[2])
				}
				if p.GUID == "" || p.TypeGUID != tt.parts[i].Type.GUID() {
					t.Errorf("part %d: GUID %q type GUID %q", i, p.GUID, p.TypeGUID)
				}
			}
		})
	}
}

func TestProtectiveMBR(t *testing.T) {
	tests := []struct {
		sectors int64
		want    string // bytes 12..15 of the entry, little endian
	}{
		{131072, "ff ff 01 00"},
		{1 << 33, "ff ff ff ff"}, // 4 TiB: capped
	}
	for _, tt := range tests {
		b := protectiveMBR(tt.sectors)
		if got := fmt.Sprintf("% x", b[12:16]); got != tt.want {
			t.Errorf("sectors %d: size field %s, want %s", tt.sectors, got, tt.want)
		}
		if b[4] != 0xee || b[8] != 1 || b[64] != 0x55 || b[65] != 0xaa {
			t.Errorf("sectors %d: bad entry % x", tt.sectors, b)
		}
	}
}

// TestWriteGPTImage writes a GPT on an image file and checks it with
// ReadGPT, Probe's PartitionTable, blkid and sgdisk.
func TestWriteGPTImage(t *testing.T) {
	img := sparseFile(t, t.TempDir(), "disk.img", 64*mib)
	const fixedGUID = "5c2e7f1a-3b4d-4e6f-8a9b-0c1d2e3f4a5b"
	written, err := WriteGPT(img, []Part{
		{Name: "bios", Type: BIOSBoot, Size: 1 * mib},
		{Name: "EFI system", Type: ESP, Size: 33 * mib, GUID: strings.ToUpper(fixedGUID)},
		{Name: "sysimage_001 /", Type: LinuxFS},
	})
	if err != nil {
		t.Fatal(err)
	}
	if written[1].GUID != fixedGUID {
		t.Errorf("given GUID came back as %q", written[1].GUID)
	}
	read, err := ReadGPT(img)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(read) != fmt.Sprint(written) {
		t.Errorf("ReadGPT =\n%+v\nWriteGPT returned\n%+v", read, written)
	}
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if pt := PartitionTable(f, 64*mib); pt != "gpt" {
		t.Errorf("PartitionTable = %q, want gpt", pt)
	}
	if b := blkid(t, img); b["PTTYPE"] != "gpt" {
		t.Errorf("blkid PTTYPE = %q, want gpt", b["PTTYPE"])
	}
	checkSgdisk(t, img, written)
}

// checkSgdisk verifies the table with sgdisk -v and compares sgdisk -i of
// each partition with parts.
func checkSgdisk(t *testing.T, disk string, parts []Part) {
	t.Helper()
	if out := run(t, "sgdisk", "-v", disk); !strings.Contains(out, "No problems found") {
		t.Errorf("sgdisk -v %s:\n%s", disk, out)
	}
	field := func(out, name string) string {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `: (.*)$`).FindStringSubmatch(out)
		if m == nil {
			return ""
		}
		return m[1]
	}
	for _, p := range parts {
		out := run(t, "sgdisk", "-i", fmt.Sprint(p.Number), disk)
		checks := [][2]string{
			{field(out, "Partition GUID code"), strings.ToUpper(p.TypeGUID) + " (" + p.Type.String() + ")"},
			{field(out, "Partition unique GUID"), strings.ToUpper(p.GUID)},
			{strings.Fields(field(out, "First sector") + " x")[0], fmt.Sprint(p.Start / 512)},
			{strings.Fields(field(out, "Last sector") + " x")[0], fmt.Sprint((p.Start+p.Size)/512 - 1)},
			{field(out, "Partition name"), "'" + p.Name + "'"},
		}
		for _, c := range checks {
			if c[0] != c[1] {
				t.Errorf("sgdisk -i %d: %q, want %q", p.Number, c[0], c[1])
			}
		}
	}
}

func TestReadGPTNone(t *testing.T) {
	img := sparseFile(t, t.TempDir(), "blank.img", 4*mib)
	if _, err := ReadGPT(img); err == nil || !strings.Contains(err.Error(), ErrNoGPT.Error()) {
		t.Errorf("ReadGPT(blank) err = %v, want ErrNoGPT", err)
	}
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if pt := PartitionTable(f, 4*mib); pt != "" {
		t.Errorf("PartitionTable(blank) = %q", pt)
	}
	var _ io.ReaderAt = f
}

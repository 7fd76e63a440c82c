package images

import (
	"errors"
	"io"
	"os"
	"reflect"
	"testing"

	"github.com/diskfs/go-diskfs/partition/mbr"
)

func TestWipeSpans(t *testing.T) {
	tests := []struct {
		name string
		size int64
		old  []span
		want []span
	}{
		{"small disk, one span", 1536 << 10, nil, []span{{0, mib}, {mib, 512 << 10}}},
		{"disk ends", 10 * mib, nil, []span{{0, mib}, {9 * mib, mib}}},
		{"partitions", 100 * mib, []span{{mib, 10 * mib}, {11 * mib, 89*mib - 34*512}}, []span{
			{0, mib}, {mib, mib}, {10 * mib, mib}, {11 * mib, mib}, {100*mib - 34*512 - mib, mib}, {99 * mib, mib},
		}},
		{"partition beyond the disk is clipped", 4 * mib, []span{{3 * mib, 8 * mib}}, []span{{0, mib}, {3 * mib, mib}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wipeSpans(tt.size, tt.old)
			// merged spans are split at wipeBytes; compare the covered bytes
			if !reflect.DeepEqual(cover(got), cover(tt.want)) {
				t.Errorf("wipeSpans = %v, want %v", got, tt.want)
			}
			for _, s := range got {
				if s.n > wipeBytes || s.off < 0 || s.off+s.n > tt.size {
					t.Errorf("span %v out of bounds", s)
				}
			}
		})
	}
}

// cover merges spans into the list of covered ranges.
func cover(spans []span) [][2]int64 {
	var out [][2]int64
	for _, s := range spans {
		if n := len(out); n > 0 && s.off <= out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], s.off+s.n)
			continue
		}
		out = append(out, [2]int64{s.off, s.off + s.n})
	}
	return out
}

// TestWipe: a disk with a GPT, an ext4 in a partition, and RAID metadata
// at the end shows nothing after Wipe.
func TestWipe(t *testing.T) {
	img := sparseFile(t, t.TempDir(), "disk.img", 64*mib)
	parts, err := WriteGPT(img, []Part{{Type: LinuxFS, Size: 16 * mib}, {Type: LinuxRAID}})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "mkfs.ext4", "-q", "-F", "-E", "offset=1048576", img, "16M")
	raid, _ := mdFixture(t, "1.0", parts[1].Size)
	b, _ := readTail(t, raid, 64<<10)
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, parts[1].Start+parts[1].Size-64<<10); err != nil {
		t.Fatal(err)
	}
	probeAt := func(p Part) error {
		_, err := Probe(io.NewSectionReader(f, p.Start, p.Size), p.Size)
		return err
	}
	for _, p := range parts {
		if err := probeAt(p); err != nil {
			t.Fatalf("before Wipe, partition %d: %v", p.Number, err)
		}
	}
	if err := Wipe(img); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadGPT(img); err == nil {
		t.Errorf("GPT still readable after Wipe")
	}
	if pt := PartitionTable(f, 64*mib); pt != "" {
		t.Errorf("PartitionTable after Wipe = %q", pt)
	}
	for _, p := range parts {
		if err := probeAt(p); !errors.Is(err, ErrNoSignature) {
			t.Errorf("after Wipe, partition %d: %v, want ErrNoSignature", p.Number, err)
		}
	}
	if b := blkid(t, img); len(b) > 1 {
		t.Errorf("blkid still finds %v", b)
	}
}

// TestWipeDOS: a DOS partition table (written with go-diskfs) is "dos"
// for PartitionTable and blkid; Wipe clears it and the file system in
// its partition.
func TestWipeDOS(t *testing.T) {
	img := sparseFile(t, t.TempDir(), "dos.img", 32*mib)
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	table := &mbr.Table{LogicalSectorSize: 512, PhysicalSectorSize: 512, Partitions: []*mbr.Partition{
		{Index: 1, Type: mbr.Linux, Start: 4096, Size: 20480},
	}}
	if err := table.Write(f, 32*mib); err != nil {
		t.Fatal(err)
	}
	run(t, "mkfs.ext4", "-q", "-F", "-E", "offset=2097152", img, "10M")
	if pt := PartitionTable(f, 32*mib); pt != "dos" {
		t.Errorf("PartitionTable = %q, want dos", pt)
	}
	if b := blkid(t, img); b["PTTYPE"] != "dos" {
		t.Errorf("blkid PTTYPE = %q, want dos", b["PTTYPE"])
	}
	part := io.NewSectionReader(f, 2*mib, 10*mib)
	if sig, err := Probe(part, 10*mib); err != nil || sig.Type != "ext4" {
		t.Fatalf("before Wipe: %+v, %v", sig, err)
	}
	if err := Wipe(img); err != nil {
		t.Fatal(err)
	}
	if pt := PartitionTable(f, 32*mib); pt != "" {
		t.Errorf("PartitionTable after Wipe = %q", pt)
	}
	if _, err := Probe(part, 10*mib); !errors.Is(err, ErrNoSignature) {
		t.Errorf("after Wipe: %v, want ErrNoSignature", err)
	}
}

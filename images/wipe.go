package images

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/diskfs/go-diskfs/partition/gpt"
)

// wipeBytes is how much Wipe clears at each place: enough for every
// signature Probe knows (btrfs sits at 64 KiB, md 0.90 up to 128 KiB
// before an end) and for both GPT copies.
const wipeBytes = 1 << 20

// span is a byte range [off, off+n).
type span struct{ off, n int64 }

// Wipe clears old signatures so that neither the kernel, blkid nor drd
// finds the previous contents of a disk: the first and last MiB of the
// disk (MBR, both GPTs, RAID and LVM metadata) and the first and last MiB
// of every partition its old GPT or MBR lists (file-system superblocks,
// RAID metadata at a partition's end). path is an image file or a whole
// block device, opened exclusively.
func Wipe(path string) error {
	d, err := openDisk(path, true)
	if err != nil {
		return fmt.Errorf("wiping %s: %w", path, err)
	}
	defer d.f.Close()
	var old []span
	if t, err := gpt.Read(d.f, int(d.sectorSize), int(d.sectorSize)); err == nil {
		for _, p := range t.Partitions {
			if p.Type != gpt.Unused && p.End >= p.Start {
				old = append(old, span{int64(p.Start) * d.sectorSize, int64(p.End-p.Start+1) * d.sectorSize})
			}
		}
	}
	mbr := make([]byte, 512)
	if _, err := d.f.ReadAt(mbr, 0); err == nil {
		old = append(old, mbrPartitions(mbr)...)
	}
	zero := make([]byte, wipeBytes)
	for _, s := range wipeSpans(d.size, old) {
		if _, err := d.f.WriteAt(zero[:s.n], s.off); err != nil {
			return fmt.Errorf("wiping %s at byte %d: %w", path, s.off, err)
		}
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("wiping %s: %w", path, err)
	}
	return nil
}

// mbrPartitions lists the primary partitions of a DOS MBR (not the
// protective entry of a GPT disk, whose partitions come from the GPT).
func mbrPartitions(b []byte) []span {
	if !mbrValid(b) {
		return nil
	}
	var out []span
	for i := 0; i < 4; i++ {
		e := b[446+16*i : 446+16*(i+1)]
		if e[4] == 0 || e[4] == 0xee {
			continue
		}
		start := int64(binary.LittleEndian.Uint32(e[8:])) * 512
		n := int64(binary.LittleEndian.Uint32(e[12:])) * 512
		if n > 0 {
			out = append(out, span{start, n})
		}
	}
	return out
}

// wipeSpans returns the ranges Wipe clears on a disk of size bytes with
// the old partitions old: the first and last wipeBytes of the disk and of
// each partition, clipped to the disk, sorted and merged.
func wipeSpans(size int64, old []span) []span {
	var all []span
	add := func(off, n int64) {
		w := min(n, wipeBytes)
		all = append(all, span{off, w}, span{off + n - w, w})
	}
	add(0, size)
	for _, p := range old {
		add(p.off, p.n)
	}
	var clipped []span
	for _, s := range all {
		end := min(s.off+s.n, size)
		if s.off < 0 || s.off >= end {
			continue
		}
		clipped = append(clipped, span{s.off, end - s.off})
	}
	sort.Slice(clipped, func(i, j int) bool { return clipped[i].off < clipped[j].off })
	var out []span
	for _, s := range clipped {
		if n := len(out); n > 0 && s.off <= out[n-1].off+out[n-1].n {
			last := &out[n-1]
			last.n = max(last.n, s.off+s.n-last.off)
			continue
		}
		out = append(out, s)
	}
	// merged spans may exceed the zero buffer: split them
	var split []span
	for _, s := range out {
		for s.n > wipeBytes {
			split = append(split, span{s.off, wipeBytes})
			s = span{s.off + wipeBytes, s.n - wipeBytes}
		}
		split = append(split, s)
	}
	return split
}

package lvm2

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrNoLabel: the device is no LVM2 physical volume.
var ErrNoLabel = errors.New("no LVM2 label")

const (
	sectorSize    = 512
	mdaHeaderSize = 512
	mdaMagic      = " LVM2 x[5A%r0N*>"
	maxMetadata   = 16 << 20 // larger text metadata is refused as corrupt
)

// PV is what one physical volume holds: its label and the newest text
// metadata of its metadata areas ("" when it has none, as with
// pvcreate --metadatacopies 0).
type PV struct {
	UUID     string // dashed, as LVM prints it
	DevSize  int64  // bytes, as the label records it
	Metadata []byte
}

// ReadPV reads the LVM2 label in one of the first four sectors of r
// (size bytes) and the text metadata of its first metadata area that
// has one.
func ReadPV(r io.ReaderAt, size int64) (PV, error) {
	var pv PV
	var sec [sectorSize]byte
	found := false
	for s := int64(0); s < 4 && (s+1)*sectorSize <= size; s++ {
		if _, err := r.ReadAt(sec[:], s*sectorSize); err != nil {
			return pv, fmt.Errorf("reading sector %d: %w", s, err)
		}
		if string(sec[0:8]) == "LABELONE" && string(sec[24:32]) == "LVM2 001" && binary.LittleEndian.Uint64(sec[8:16]) == uint64(s) {
			found = true
			break
		}
	}
	if !found {
		return pv, ErrNoLabel
	}
	off := int(binary.LittleEndian.Uint32(sec[20:24]))
	if off < 32 || off+32+8 > sectorSize {
		return pv, fmt.Errorf("the LVM2 label's header offset %d is outside its sector", off)
	}
	h := sec[off:]
	pv.UUID = FormatUUID(h[0:32])
	pv.DevSize = int64(binary.LittleEndian.Uint64(h[32:40]))
	// Two lists of (offset, size), each ended by a zero pair: data
	// areas, then metadata areas.
	p := 40
	next := func() (uint64, uint64, bool) {
		if off+p+16 > sectorSize {
			return 0, 0, false
		}
		o, n := binary.LittleEndian.Uint64(h[p:]), binary.LittleEndian.Uint64(h[p+8:])
		p += 16
		return o, n, o != 0 || n != 0
	}
	for {
		if _, _, ok := next(); !ok {
			break
		}
	}
	var lastErr error
	for {
		o, n, ok := next()
		if !ok {
			break
		}
		md, err := readMDA(r, size, int64(o), int64(n))
		if err != nil {
			lastErr = err
			continue
		}
		if md != nil {
			pv.Metadata = md
			return pv, nil
		}
	}
	if lastErr != nil {
		return pv, fmt.Errorf("physical volume %s: %w", pv.UUID, lastErr)
	}
	return pv, nil
}

// readMDA reads the text metadata that the metadata area at off (n
// bytes) points to; nil when it has none. The text lives in a ring
// buffer after the area's 512-byte header and may wrap to its start.
func readMDA(r io.ReaderAt, size, off, n int64) ([]byte, error) {
	if off < 0 || n < 2*mdaHeaderSize || off > size || n > size-off {
		return nil, fmt.Errorf("metadata area at %d (%d bytes) is outside the device (%d bytes)", off, n, size)
	}
	var h [mdaHeaderSize]byte
	if _, err := r.ReadAt(h[:], off); err != nil {
		return nil, fmt.Errorf("reading the metadata area header at %d: %w", off, err)
	}
	if string(h[4:20]) != mdaMagic {
		return nil, fmt.Errorf("the metadata area at %d has no LVM2 header", off)
	}
	if start := int64(binary.LittleEndian.Uint64(h[24:32])); start != off {
		return nil, fmt.Errorf("the metadata area header at %d says it starts at %d", off, start)
	}
	// The first raw location is the committed metadata.
	loc := h[40:64]
	lo, ln := int64(binary.LittleEndian.Uint64(loc[0:8])), int64(binary.LittleEndian.Uint64(loc[8:16]))
	if lo == 0 && ln == 0 {
		return nil, nil
	}
	if lo < mdaHeaderSize || lo >= n || ln <= 0 || ln > n-mdaHeaderSize || ln > maxMetadata {
		return nil, fmt.Errorf("the metadata at %d+%d (%d bytes) is outside its area (%d bytes)", off, lo, ln, n)
	}
	buf := make([]byte, ln)
	first := min(ln, n-lo)
	if _, err := r.ReadAt(buf[:first], off+lo); err != nil {
		return nil, fmt.Errorf("reading the metadata at %d: %w", off+lo, err)
	}
	if first < ln { // wrapped around to the start of the ring
		if _, err := r.ReadAt(buf[first:], off+mdaHeaderSize); err != nil {
			return nil, fmt.Errorf("reading the metadata at %d: %w", off+mdaHeaderSize, err)
		}
	}
	if want := binary.LittleEndian.Uint32(loc[16:20]); crc(buf) != want {
		return nil, fmt.Errorf("the metadata at %d has checksum %#x, its header says %#x: it is damaged", off+lo, crc(buf), want)
	}
	return bytes.TrimRight(buf, "\x00"), nil
}

// crc is LVM2's calc_crc: CRC-32 (reflected polynomial 0xedb88320)
// started from 0xf597a6cf, not inverted at the end.
func crc(b []byte) uint32 {
	c := uint32(0xf597a6cf)
	for _, x := range b {
		c ^= uint32(x)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xedb88320
			} else {
				c >>= 1
			}
		}
	}
	return c
}

// FormatUUID writes a 32-character LVM UUID as 6-4-4-4-4-4-6, as LVM's
// tools and blkid show it. images' signature probe uses it too.
func FormatUUID(b []byte) string {
	s := string(b)
	out := make([]byte, 0, 38)
	for i, n := range []int{6, 4, 4, 4, 4, 4, 6} {
		if i > 0 {
			out = append(out, '-')
		}
		out = append(out, s[:n]...)
		s = s[n:]
	}
	return string(out)
}

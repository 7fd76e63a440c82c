package images

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strings"
)

// Signature is what a device or image holds, as blkid reports it: Type is
// blkid's TYPE (ext4, xfs, vfat, swap, LVM2_member, linux_raid_member,
// btrfs, squashfs, crypto_LUKS), UUID and Label are formatted exactly as
// blkid prints them, so that they match UUID= and LABEL= in fstab.
type Signature struct {
	Type, UUID, Label string
}

// ErrNoSignature is returned by Probe when no known signature is found.
var ErrNoSignature = errors.New("no known file system or volume signature")

// prober recognizes one kind of signature. It returns ok false when the
// bytes are not of its kind; err only for read failures.
type prober func(r io.ReaderAt, size int64) (sig Signature, ok bool, err error)

// probers in the order blkid tries them: volume-manager and RAID members
// first (their metadata may sit beside a file system), then file systems.
var probers = []prober{
	probeMDEnd, probeLVM2, probeMDStart, probeLUKS,
	probeSwap, probeXFS, probeExt, probeBtrfs, probeSquashfs, probeFAT,
}

// Probe reads the signature of the file system or volume that starts at
// offset 0 of r, size bytes long.
func Probe(r io.ReaderAt, size int64) (Signature, error) {
	for _, p := range probers {
		sig, ok, err := p(r, size)
		if err != nil {
			return Signature{}, err
		}
		if ok {
			return sig, nil
		}
	}
	return Signature{}, ErrNoSignature
}

// ProbePath probes a block device or image file.
func ProbePath(path string) (Signature, error) {
	f, err := os.Open(path)
	if err != nil {
		return Signature{}, fmt.Errorf("probing %s: %w", path, err)
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return Signature{}, fmt.Errorf("probing %s: size: %w", path, err)
	}
	sig, err := Probe(f, size)
	if err != nil {
		return Signature{}, fmt.Errorf("probing %s: %w", path, err)
	}
	return sig, nil
}

// PartitionTable tells which partition table r starts with: "gpt" (a
// valid GPT header at LBA 1, for 512- or 4096-byte sectors), "dos" (an
// MBR with partitions that is not a FAT boot sector), or "".
func PartitionTable(r io.ReaderAt, size int64) string {
	for _, ss := range []int64{512, 4096} {
		hdr, err := readAt(r, size, ss, 92)
		if err == nil && gptHeaderValid(hdr, ss) {
			return "gpt"
		}
	}
	mbr, err := readAt(r, size, 0, 512)
	if err != nil || !mbrValid(mbr) {
		return ""
	}
	if _, ok, _ := probeFAT(r, size); ok {
		return ""
	}
	return "dos"
}

// gptHeaderValid checks signature, header size, CRC and "my LBA" of a
// GPT header read from byte offset lba1.
func gptHeaderValid(h []byte, lba1 int64) bool {
	if string(h[:8]) != "EFI PART" {
		return false
	}
	n := binary.LittleEndian.Uint32(h[12:16])
	if n != 92 || binary.LittleEndian.Uint64(h[24:32]) != 1 {
		return false
	}
	c := bytes.Clone(h[:92])
	want := binary.LittleEndian.Uint32(c[16:20])
	clear(c[16:20])
	return crc32.ChecksumIEEE(c) == want
}

// mbrValid checks the 0x55AA mark, that the four entries have sane boot
// flags and that at least one is used.
func mbrValid(b []byte) bool {
	if b[510] != 0x55 || b[511] != 0xaa {
		return false
	}
	used := false
	for i := 0; i < 4; i++ {
		e := b[446+16*i : 446+16*(i+1)]
		if e[0] != 0 && e[0] != 0x80 {
			return false
		}
		if e[4] != 0 {
			used = true
		}
	}
	return used
}

// readAt reads n bytes at off, failing with io.ErrUnexpectedEOF when they
// lie beyond size.
func readAt(r io.ReaderAt, size, off int64, n int) ([]byte, error) {
	if off < 0 || off+int64(n) > size {
		return nil, io.ErrUnexpectedEOF
	}
	b := make([]byte, n)
	got, err := r.ReadAt(b, off)
	if got == n {
		return b, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = fmt.Errorf("short read of %d bytes", got)
	}
	return nil, fmt.Errorf("reading %d bytes at %d: %w", n, off, err)
}

// probeRead reads for a prober: a range beyond size is "not my kind"
// (nil, nil), a failing read an error.
func probeRead(r io.ReaderAt, size, off int64, n int) ([]byte, error) {
	b, err := readAt(r, size, off, n)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, nil
	}
	return b, err
}

// formatUUID formats 16 bytes as blkid does: lower-case 8-4-4-4-12, and
// "" for an all-zero UUID (blkid then prints none).
func formatUUID(b []byte) string {
	if len(b) != 16 || allZero(b) {
		return ""
	}
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// cString returns the text of a fixed-size, NUL-padded field with
// trailing blanks removed, as blkid sets labels.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimRight(string(b), " \t\r\n")
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

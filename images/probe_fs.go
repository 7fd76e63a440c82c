package images

import (
	"bytes"
	"encoding/binary"
	"io"
)

// ext2/3/4 feature bits, as blkid uses them to tell the three apart.
const (
	extCompatHasJournal    = 0x0004
	extIncompatJournalDev  = 0x0008
	extIncompatExt2Supp    = 0x0002 | 0x0010          // filetype, meta_bg
	extIncompatExt3Supp    = 0x0002 | 0x0004 | 0x0010 // + recover
	extROCompatExt3Supp    = 0x0001 | 0x0002 | 0x0004 // sparse_super, large_file, btree_dir
	extFlagsTestFilesystem = 0x0004
)

func probeExt(r io.ReaderAt, size int64) (Signature, bool, error) {
	sb, err := probeRead(r, size, 1024, 1024)
	if sb == nil || err != nil {
		return Signature{}, false, err
	}
	if binary.LittleEndian.Uint16(sb[0x38:]) != 0xef53 {
		return Signature{}, false, nil
	}
	compat := binary.LittleEndian.Uint32(sb[0x5c:])
	incompat := binary.LittleEndian.Uint32(sb[0x60:])
	roCompat := binary.LittleEndian.Uint32(sb[0x64:])
	flags := binary.LittleEndian.Uint32(sb[0x160:])
	var typ string
	switch {
	case incompat&extIncompatJournalDev != 0:
		typ = "jbd"
	case incompat&^extIncompatExt3Supp != 0 || roCompat&^extROCompatExt3Supp != 0:
		typ = "ext4"
		if flags&extFlagsTestFilesystem != 0 {
			typ = "ext4dev"
		}
	case compat&extCompatHasJournal != 0:
		typ = "ext3"
	case incompat&^extIncompatExt2Supp == 0:
		typ = "ext2"
	default: // needs recovery but has no journal: blkid names nothing
		return Signature{}, false, nil
	}
	return Signature{Type: typ, UUID: formatUUID(sb[0x68:0x78]), Label: cString(sb[0x78:0x88])}, true, nil
}

func probeXFS(r io.ReaderAt, size int64) (Signature, bool, error) {
	sb, err := probeRead(r, size, 0, 512)
	if sb == nil || err != nil {
		return Signature{}, false, err
	}
	if string(sb[0:4]) != "XFSB" {
		return Signature{}, false, nil
	}
	bs := binary.BigEndian.Uint32(sb[4:])
	if bs < 512 || bs > 65536 || bs&(bs-1) != 0 {
		return Signature{}, false, nil
	}
	return Signature{Type: "xfs", UUID: formatUUID(sb[32:48]), Label: cString(sb[108:120])}, true, nil
}

func probeBtrfs(r io.ReaderAt, size int64) (Signature, bool, error) {
	sb, err := probeRead(r, size, 0x10000, 0x1000)
	if sb == nil || err != nil {
		return Signature{}, false, err
	}
	if string(sb[0x40:0x48]) != "_BHRfS_M" {
		return Signature{}, false, nil
	}
	return Signature{Type: "btrfs", UUID: formatUUID(sb[0x20:0x30]), Label: cString(sb[0x12b : 0x12b+256])}, true, nil
}

func probeSquashfs(r io.ReaderAt, size int64) (Signature, bool, error) {
	sb, err := probeRead(r, size, 0, 96)
	if sb == nil || err != nil {
		return Signature{}, false, err
	}
	var major uint16
	switch string(sb[0:4]) {
	case "hsqs":
		major = binary.LittleEndian.Uint16(sb[28:])
	case "sqsh":
		major = binary.BigEndian.Uint16(sb[28:])
	default:
		return Signature{}, false, nil
	}
	if major < 4 {
		return Signature{Type: "squashfs3"}, true, nil
	}
	return Signature{Type: "squashfs"}, true, nil
}

// Swap and hibernation images keep their magic in the last 10 bytes of
// the first page, whatever the page size of the machine that wrote them.
var (
	swapPageSizes  = []int64{4096, 8192, 16384, 32768, 65536}
	swsuspendMagic = [][]byte{[]byte("S1SUSPEND"), []byte("S2SUSPEND"), []byte("ULSUSPEND"),
		[]byte("LINHIB0001"), {0xed, 0xc3, 0x02, 0xe9, 0x98, 0x56, 0xe5, 0x0c}}
)

func probeSwap(r io.ReaderAt, size int64) (Signature, bool, error) {
	for _, ps := range swapPageSizes {
		m, err := probeRead(r, size, ps-10, 10)
		if m == nil || err != nil {
			return Signature{}, false, err
		}
		typ := ""
		switch {
		case string(m) == "SWAPSPACE2":
			typ = "swap"
		case string(m) == "SWAP-SPACE":
			return Signature{Type: "swap"}, true, nil // version 0: no UUID, no label
		default:
			for _, s := range swsuspendMagic {
				if bytes.HasSuffix(m, s) {
					typ = "swsuspend"
				}
			}
		}
		if typ == "" {
			continue
		}
		h, err := probeRead(r, size, 1024, 44)
		if h == nil || err != nil {
			return Signature{}, false, err
		}
		// version 1 and a last page, in either byte order
		version, last := binary.LittleEndian.Uint32(h[0:]), binary.LittleEndian.Uint32(h[4:])
		if version != 1 {
			version, last = binary.BigEndian.Uint32(h[0:]), binary.BigEndian.Uint32(h[4:])
		}
		if typ == "swap" && (version != 1 || last == 0) {
			return Signature{}, false, nil
		}
		return Signature{Type: typ, UUID: formatUUID(h[12:28]), Label: cString(h[28:44])}, true, nil
	}
	return Signature{}, false, nil
}

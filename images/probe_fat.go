package images

import (
	"encoding/binary"
	"fmt"
	"io"
)

// fatBPB is the part of a FAT boot sector that probing needs.
type fatBPB struct {
	bytesPerSector    uint32
	sectorsPerCluster uint32
	reserved          uint32
	fats              uint32
	rootEntries       uint32 // FAT12/16 fixed root directory
	sectorsPerFAT     uint32
	totalSectors      uint32
	fat32             bool
	rootCluster       uint32 // FAT32
	serial            uint32
	bootLabel         []byte // 11 bytes
}

// parseFATBootSector checks a boot sector the way blkid does (jump
// instruction, 0x55AA, power-of-two sector and cluster sizes, reserved
// sectors, FAT count, media byte) and reads its BPB.
func parseFATBootSector(b []byte) (fatBPB, bool) {
	if len(b) < 512 || b[510] != 0x55 || b[511] != 0xaa || (b[0] != 0xeb && b[0] != 0xe9) {
		return fatBPB{}, false
	}
	le16 := func(o int) uint32 { return uint32(binary.LittleEndian.Uint16(b[o:])) }
	le32 := func(o int) uint32 { return binary.LittleEndian.Uint32(b[o:]) }
	p := fatBPB{
		bytesPerSector:    le16(0x0b),
		sectorsPerCluster: uint32(b[0x0d]),
		reserved:          le16(0x0e),
		fats:              uint32(b[0x10]),
		rootEntries:       le16(0x11),
		totalSectors:      le16(0x13),
		sectorsPerFAT:     le16(0x16),
	}
	media := b[0x15]
	pow2 := func(x uint32) bool { return x != 0 && x&(x-1) == 0 }
	if !pow2(p.bytesPerSector) || p.bytesPerSector < 512 || p.bytesPerSector > 4096 ||
		!pow2(p.sectorsPerCluster) || p.reserved == 0 || p.fats == 0 || p.fats > 4 ||
		(media != 0xf0 && media < 0xf8) {
		return fatBPB{}, false
	}
	if p.totalSectors == 0 {
		p.totalSectors = le32(0x20)
	}
	if p.sectorsPerFAT == 0 {
		p.fat32 = true
		p.sectorsPerFAT = le32(0x24)
		p.rootCluster = le32(0x2c)
		p.serial = le32(0x43)
		p.bootLabel = b[0x47 : 0x47+11]
		if p.sectorsPerFAT == 0 || string(b[0x52:0x55]) != "FAT" && string(b[0x52:0x57]) != "MSWIN" {
			return fatBPB{}, false
		}
	} else {
		p.serial = le32(0x27)
		p.bootLabel = b[0x2b : 0x2b+11]
	}
	return p, true
}

func (p fatBPB) dataStart() int64 {
	return int64(p.reserved+p.fats*p.sectorsPerFAT)*int64(p.bytesPerSector) +
		int64(p.rootEntries)*32
}

func (p fatBPB) clusterBytes() int64 { return int64(p.sectorsPerCluster) * int64(p.bytesPerSector) }

// fatNoName is what formatters put where there is no label.
const fatNoName = "NO NAME    "

// probeFAT reads a FAT12/16/32 file system. Like blkid, the label is the
// volume-label entry of the root directory; the UUID is the volume serial
// number as XXXX-XXXX.
func probeFAT(r io.ReaderAt, size int64) (Signature, bool, error) {
	b, err := probeRead(r, size, 0, 512)
	if b == nil || err != nil {
		return Signature{}, false, err
	}
	p, ok := parseFATBootSector(b)
	if !ok {
		return Signature{}, false, nil
	}
	label, err := fatRootLabel(r, size, p)
	if err != nil {
		return Signature{}, false, err
	}
	uuid := fmt.Sprintf("%04X-%04X", p.serial>>16, p.serial&0xffff)
	return Signature{Type: "vfat", UUID: uuid, Label: label}, true, nil
}

// fatRootLabel searches the root directory for a volume-label entry.
func fatRootLabel(r io.ReaderAt, size int64, p fatBPB) (string, error) {
	if !p.fat32 {
		off := int64(p.reserved+p.fats*p.sectorsPerFAT) * int64(p.bytesPerSector)
		dir, err := probeRead(r, size, off, int(p.rootEntries)*32)
		if dir == nil || err != nil {
			return "", err
		}
		label, _ := fatDirLabel(dir)
		return label, nil
	}
	fatOff := int64(p.reserved) * int64(p.bytesPerSector)
	maxCluster := p.sectorsPerFAT * p.bytesPerSector / 4
	c := p.rootCluster
	for n := 0; c >= 2 && c < maxCluster && n < 4096; n++ { // bounded: a loop in the chain must not hang
		dir, err := probeRead(r, size, p.dataStart()+int64(c-2)*p.clusterBytes(), int(p.clusterBytes()))
		if dir == nil || err != nil {
			return "", err
		}
		if label, end := fatDirLabel(dir); label != "" || end {
			return label, nil
		}
		next, err := probeRead(r, size, fatOff+int64(c)*4, 4)
		if next == nil || err != nil {
			return "", err
		}
		c = binary.LittleEndian.Uint32(next) & 0x0fffffff
	}
	return "", nil
}

// fatDirLabel scans directory entries for a volume label; end tells that
// the end-of-directory mark was seen.
func fatDirLabel(dir []byte) (label string, end bool) {
	for i := 0; i+32 <= len(dir); i += 32 {
		e := dir[i : i+32]
		attr := e[11]
		switch {
		case e[0] == 0:
			return "", true
		case e[0] == 0xe5, attr&0x3f == 0x0f: // deleted, long-name part
			continue
		case attr&(0x08|0x10) == 0x08:
			name := append([]byte(nil), e[:11]...)
			if name[0] == 0x05 {
				name[0] = 0xe5
			}
			if string(name) == fatNoName {
				return "", true
			}
			return cString(name), true
		}
	}
	return "", false
}

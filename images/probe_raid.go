package images

import (
	"encoding/binary"
	"io"

	"github.com/drd-linux/drd/images/lvm2"
)

// probeLVM2 finds an LVM2 physical volume label in one of the first four
// sectors.
func probeLVM2(r io.ReaderAt, size int64) (Signature, bool, error) {
	for sector := int64(0); sector < 4; sector++ {
		l, err := probeRead(r, size, sector*512, 512)
		if l == nil || err != nil {
			return Signature{}, false, err
		}
		if string(l[0:8]) != "LABELONE" || string(l[24:32]) != "LVM2 001" {
			continue
		}
		if binary.LittleEndian.Uint64(l[8:16]) != uint64(sector) {
			continue
		}
		off := binary.LittleEndian.Uint32(l[20:24])
		if off < 32 || off+32 > 512 {
			continue
		}
		return Signature{Type: "LVM2_member", UUID: lvm2.FormatUUID(l[off : off+32])}, true, nil
	}
	return Signature{}, false, nil
}

const mdMagic = 0xa92b4efc

// probeMDEnd finds Linux RAID metadata at the end of a device: version
// 0.90 (64 KiB-aligned, 64 KiB before the end) and version 1.0.
func probeMDEnd(r io.ReaderAt, size int64) (Signature, bool, error) {
	const reserved = 64 << 10
	if size >= 2*reserved {
		off := size&^(reserved-1) - reserved
		sb, err := probeRead(r, size, off, 64)
		if err != nil {
			return Signature{}, false, err
		}
		var order binary.ByteOrder = binary.LittleEndian
		if sb != nil && binary.BigEndian.Uint32(sb) == mdMagic {
			order = binary.BigEndian
		}
		if sb != nil && order.Uint32(sb) == mdMagic {
			// set_uuid0..3 are 32-bit words in the writer's byte order;
			// blkid, like mdadm, prints each word as a number.
			uuid := make([]byte, 0, 16)
			for _, o := range []int{20, 52, 56, 60} {
				uuid = binary.BigEndian.AppendUint32(uuid, order.Uint32(sb[o:]))
			}
			return Signature{Type: "linux_raid_member", UUID: formatUUID(uuid)}, true, nil
		}
	}
	if size < 8192 {
		return Signature{}, false, nil
	}
	return probeMD1(r, size, (size/512-16)&^7*512)
}

// probeMDStart finds Linux RAID metadata version 1.1 (at 0) and 1.2
// (at 4 KiB).
func probeMDStart(r io.ReaderAt, size int64) (Signature, bool, error) {
	for _, off := range []int64{0, 4096} {
		sig, ok, err := probeMD1(r, size, off)
		if ok || err != nil {
			return sig, ok, err
		}
	}
	return Signature{}, false, nil
}

func probeMD1(r io.ReaderAt, size, off int64) (Signature, bool, error) {
	sb, err := probeRead(r, size, off, 256)
	if sb == nil || err != nil {
		return Signature{}, false, err
	}
	if binary.LittleEndian.Uint32(sb[0:]) != mdMagic || binary.LittleEndian.Uint32(sb[4:]) != 1 {
		return Signature{}, false, nil
	}
	if binary.LittleEndian.Uint64(sb[144:]) != uint64(off/512) { // super_offset
		return Signature{}, false, nil
	}
	return Signature{Type: "linux_raid_member", UUID: formatUUID(sb[16:32]), Label: cString(sb[32:64])}, true, nil
}

// probeLUKS reads a LUKS1 or LUKS2 header; the UUID is stored as text.
func probeLUKS(r io.ReaderAt, size int64) (Signature, bool, error) {
	h, err := probeRead(r, size, 0, 512)
	if h == nil || err != nil {
		return Signature{}, false, err
	}
	if string(h[0:6]) != "LUKS\xba\xbe" {
		return Signature{}, false, nil
	}
	sig := Signature{Type: "crypto_LUKS", UUID: cString(h[168:208])}
	if binary.BigEndian.Uint16(h[6:]) == 2 {
		sig.Label = cString(h[24:72])
	}
	return sig, true, nil
}

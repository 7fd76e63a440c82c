package images

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
)

// FuzzProbe: whatever a disk holds, Probe and PartitionTable read it
// without failing other than by error, and a signature found is one of
// the types blkid names.
func FuzzProbe(f *testing.F) {
	ext := make([]byte, 2048)
	binary.LittleEndian.PutUint16(ext[1024+0x38:], 0xef53)
	binary.LittleEndian.PutUint32(ext[1024+0x60:], 0x0040) // extents: ext4
	copy(ext[1024+0x78:], "root")
	f.Add(ext)
	lvm := make([]byte, 2048)
	copy(lvm[512:], "LABELONE")
	binary.LittleEndian.PutUint64(lvm[512+8:], 1)
	binary.LittleEndian.PutUint32(lvm[512+20:], 32)
	copy(lvm[512+24:], "LVM2 001")
	copy(lvm[512+32:], "0123456789abcdefghijklmnopqrstuv")
	f.Add(lvm)
	swap := make([]byte, 4096)
	copy(swap[4096-10:], "SWAPSPACE2")
	f.Add(swap)
	fat := make([]byte, 1024)
	copy(fat[0:], []byte{0xeb, 0x58, 0x90})
	copy(fat[3:], "mkfs.fat")
	binary.LittleEndian.PutUint16(fat[11:], 512)
	fat[13] = 1
	binary.LittleEndian.PutUint16(fat[14:], 32)
	fat[16] = 2
	binary.LittleEndian.PutUint32(fat[32:], 70000)
	binary.LittleEndian.PutUint32(fat[36:], 600)
	copy(fat[82:], "FAT32   ")
	fat[510], fat[511] = 0x55, 0xaa
	f.Add(fat)
	f.Add([]byte("XFSB"))
	f.Add([]byte("LUKS\xba\xbe\x00\x02"))
	f.Add(make([]byte, 1024))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		if sig, err := Probe(r, int64(len(data))); err == nil {
			known := []string{"ext2", "ext3", "ext4", "ext4dev", "jbd", "xfs", "vfat", "swap", "LVM2_member", "linux_raid_member", "btrfs", "squashfs", "crypto_LUKS"}
			if !slices.Contains(known, sig.Type) {
				t.Errorf("signature %+v", sig)
			}
		}
		if pt := PartitionTable(r, int64(len(data))); pt != "" && pt != "gpt" && pt != "dos" {
			t.Errorf("partition table %q", pt)
		}
	})
}

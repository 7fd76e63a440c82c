package images

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf16"

	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/google/uuid"
)

// PartType is the role of a GPT partition; each has a type GUID.
type PartType int

// Partition types drd writes or recognizes. PartOther is any other type
// GUID: Part.TypeGUID then says which.
const (
	PartOther       PartType = iota
	BIOSBoot                 // GRUB's core image on a BIOS machine
	ESP                      // EFI system partition
	XBootLdr                 // extended boot loader partition (/boot for systemd-boot)
	LinuxFS                  // Linux file system
	LinuxRootX86_64          // discoverable root partition, x86-64
	LinuxHome                // discoverable /home
	LinuxLVM                 // LVM physical volume
	LinuxRAID                // Linux RAID member
	Swap                     // Linux swap
	MSBasicData              // Microsoft basic data (FAT or NTFS data)
)

var partTypes = []struct {
	t    PartType
	guid gpt.Type
	name string // as sgdisk names it
}{
	{BIOSBoot, gpt.BIOSBoot, "BIOS boot partition"},
	{ESP, gpt.EFISystemPartition, "EFI system partition"},
	{XBootLdr, gpt.LinuxExtendedBoot, "Linux extended boot"},
	{LinuxFS, gpt.LinuxFilesystem, "Linux filesystem"},
	{LinuxRootX86_64, gpt.LinuxRootX86_64, "Linux x86-64 root (/)"},
	{LinuxHome, gpt.LinuxHome, "Linux /home"},
	{LinuxLVM, gpt.LinuxLVM, "Linux LVM"},
	{LinuxRAID, gpt.LinuxRAID, "Linux RAID"},
	{Swap, gpt.LinuxSwap, "Linux swap"},
	{MSBasicData, gpt.MicrosoftBasicData, "Microsoft basic data"},
}

func (t PartType) String() string {
	for _, p := range partTypes {
		if p.t == t {
			return p.name
		}
	}
	return "other"
}

// GUID returns the type GUID of t in lower case, "" for PartOther.
func (t PartType) GUID() string {
	for _, p := range partTypes {
		if p.t == t {
			return strings.ToLower(string(p.guid))
		}
	}
	return ""
}

// partTypeOf maps a type GUID to a PartType (PartOther if unknown).
func partTypeOf(guid string) PartType {
	for _, p := range partTypes {
		if strings.EqualFold(string(p.guid), guid) {
			return p.t
		}
	}
	return PartOther
}

// Part is one GPT partition. In a layout given to WriteGPT, Number 0
// means "the next number", Size 0 "the rest of the disk" (for one
// partition only) and GUID "" a new random partition GUID; WriteGPT
// returns the parts with everything filled in.
type Part struct {
	Number   int      // 1..128
	Name     string   // GPT partition name (PARTLABEL), up to 36 UTF-16 units
	Type     PartType //
	TypeGUID string   // type GUID, lower case; required only with PartOther
	Start    int64    // bytes from the start of the disk
	Size     int64    // bytes
	GUID     string   // unique partition GUID (PARTUUID), lower case
}

// Align is where partitions start and how their sizes are rounded: 1 MiB,
// as every partitioning tool does today.
const Align = 1 << 20

// gptEntries is the number of entries of the partition array we write;
// 128 entries of 128 bytes take 16 KiB at each end of the disk.
const gptEntries = 128

// ErrNoGPT is returned by ReadGPT when a disk has no valid GPT.
var ErrNoGPT = errors.New("no valid GPT")

// planGPT places parts on a disk of diskSize bytes with sectorSize-byte
// sectors: in the order given, each starting on a 1 MiB boundary, sizes
// rounded up to 1 MiB, the one part of Size 0 taking what the others leave.
// It fills in numbers, type GUIDs and missing partition GUIDs.
func planGPT(diskSize, sectorSize int64, parts []Part) ([]Part, error) {
	if len(parts) == 0 || len(parts) > gptEntries {
		return nil, fmt.Errorf("a GPT holds 1 to %d partitions, not %d", gptEntries, len(parts))
	}
	arrayBytes := int64(gptEntries * 128)
	firstUsable := 2*sectorSize + arrayBytes         // MBR, header, array
	lastUsable := diskSize - sectorSize - arrayBytes // end of usable area (exclusive)
	start, end := alignUp(firstUsable, Align), lastUsable/Align*Align
	if end <= start {
		return nil, fmt.Errorf("a disk of %d bytes is too small for a GPT with 1 MiB alignment", diskSize)
	}
	out := make([]Part, len(parts))
	used := map[int]bool{}
	for i, p := range parts {
		if p.Number == 0 {
			continue
		}
		if p.Number < 0 || p.Number > gptEntries || used[p.Number] {
			return nil, fmt.Errorf("partition %d (%q): number %d is out of 1..%d or used twice", i+1, p.Name, p.Number, gptEntries)
		}
		used[p.Number] = true
	}
	rest, fixed := -1, int64(0)
	next := 1
	for i, p := range parts {
		if p.Number == 0 {
			for used[next] {
				next++
			}
			p.Number = next
			used[next] = true
		}
		if n := len(utf16.Encode([]rune(p.Name))); n > 36 {
			return nil, fmt.Errorf("partition %d: name %q is %d UTF-16 units long, GPT allows 36", p.Number, p.Name, n)
		}
		if p.Type != PartOther {
			p.TypeGUID = p.Type.GUID()
		}
		if _, err := uuid.Parse(p.TypeGUID); err != nil {
			return nil, fmt.Errorf("partition %d: type GUID %q: %w", p.Number, p.TypeGUID, err)
		}
		p.TypeGUID = strings.ToLower(p.TypeGUID)
		if p.GUID == "" {
			p.GUID = uuid.NewString()
		}
		g, err := uuid.Parse(p.GUID)
		if err != nil {
			return nil, fmt.Errorf("partition %d: GUID %q: %w", p.Number, p.GUID, err)
		}
		p.GUID = g.String()
		switch {
		case p.Size < 0:
			return nil, fmt.Errorf("partition %d: negative size %d", p.Number, p.Size)
		case p.Size == 0 && rest >= 0:
			return nil, fmt.Errorf("partitions %d and %d both ask for the rest of the disk", out[rest].Number, p.Number)
		case p.Size == 0:
			rest = i
		default:
			p.Size = alignUp(p.Size, Align)
			fixed += p.Size
		}
		out[i] = p
	}
	avail := end - start
	if fixed > avail || (rest >= 0 && fixed+Align > avail) {
		return nil, fmt.Errorf("the partitions need %d MiB but the disk has %d MiB for partitions", (fixed+Align-1)/Align+btoi(rest >= 0), avail/Align)
	}
	if rest >= 0 {
		out[rest].Size = avail - fixed
	}
	for i := range out {
		out[i].Start = start
		start += out[i].Size
	}
	return out, nil
}

func alignUp(n, a int64) int64 { return (n + a - 1) / a * a }

func btoi(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// WriteGPT writes a new GPT with parts (see Part and planGPT) and a
// protective MBR to path, an image file or a whole block device, and
// returns the parts as written. It does not wipe old signatures (see
// Wipe) nor tell the kernel (see ShowPartitions).
func WriteGPT(path string, parts []Part) ([]Part, error) {
	d, err := openDisk(path, true)
	if err != nil {
		return nil, fmt.Errorf("writing GPT on %s: %w", path, err)
	}
	defer d.f.Close()
	planned, err := planGPT(d.size, d.sectorSize, parts)
	if err != nil {
		return nil, fmt.Errorf("writing GPT on %s: %w", path, err)
	}
	ss := uint64(d.sectorSize)
	table := &gpt.Table{LogicalSectorSize: int(ss), PhysicalSectorSize: int(ss)}
	for _, p := range planned {
		table.Partitions = append(table.Partitions, &gpt.Partition{
			Index: p.Number,
			Start: uint64(p.Start) / ss,
			End:   uint64(p.Start+p.Size)/ss - 1,
			Size:  uint64(p.Size),
			Type:  gpt.Type(strings.ToUpper(p.TypeGUID)),
			Name:  p.Name,
			GUID:  p.GUID,
		})
	}
	if err := table.Write(d.f, d.size); err != nil {
		return nil, fmt.Errorf("writing GPT on %s: %w", path, err)
	}
	if _, err := d.f.WriteAt(protectiveMBR(d.size/d.sectorSize), 446); err != nil {
		return nil, fmt.Errorf("writing protective MBR on %s: %w", path, err)
	}
	if err := d.f.Sync(); err != nil {
		return nil, fmt.Errorf("writing GPT on %s: %w", path, err)
	}
	return planned, nil
}

// protectiveMBR returns bytes 446..511 of a protective MBR for a disk of
// sectors sectors: one partition of type 0xEE from LBA 1 over the whole
// disk (capped at 2^32-1 sectors), CHS fields as sgdisk writes them.
func protectiveMBR(sectors int64) []byte {
	b := make([]byte, 66)
	e := b[0:16]
	e[1], e[2], e[3] = 0x00, 0x02, 0x00 // CHS of LBA 1
	e[4] = 0xee
	e[5], e[6], e[7] = 0xff, 0xff, 0xff
	e[8] = 1
	n := sectors - 1
	if n > 0xffffffff {
		n = 0xffffffff
	}
	e[12], e[13], e[14], e[15] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
	b[64], b[65] = 0x55, 0xaa
	return b
}

// ReadGPT reads the GPT of an image file or block device. A damaged
// primary header is read from the backup one.
func ReadGPT(path string) ([]Part, error) {
	d, err := openDisk(path, false)
	if err != nil {
		return nil, fmt.Errorf("reading GPT of %s: %w", path, err)
	}
	defer d.f.Close()
	table, err := gpt.Read(d.f, int(d.sectorSize), int(d.sectorSize))
	if err != nil {
		return nil, fmt.Errorf("reading GPT of %s: %w: %v", path, ErrNoGPT, err)
	}
	var parts []Part
	for _, p := range table.Partitions {
		if p.Type == gpt.Unused {
			continue
		}
		parts = append(parts, Part{
			Number:   p.Index,
			Name:     p.Name,
			Type:     partTypeOf(string(p.Type)),
			TypeGUID: strings.ToLower(string(p.Type)),
			Start:    int64(p.Start) * d.sectorSize,
			Size:     int64(p.End-p.Start+1) * d.sectorSize,
			GUID:     strings.ToLower(p.GUID),
		})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].Number < parts[j].Number })
	return parts, nil
}

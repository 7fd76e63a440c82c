package images

import (
	"errors"
	"fmt"
	"strings"

	"github.com/diskfs/go-diskfs/filesystem/fat32"
)

// FAT32 limits for MakeFAT32. A FAT32 file system needs at least 65525
// clusters, or every reader takes it for FAT16; with the 512-byte
// clusters used below 260 MiB that makes about 32.5 MiB, so ask for
// 33 MiB or more. Above 32 GiB formatters refuse FAT32 by convention and
// go-diskfs's 16-bit FAT size would overflow.
const (
	FAT32MinClusters = 65525
	FAT32MaxSize     = 32 << 30
)

// ErrTooSmall is returned when a partition cannot hold what is asked.
var ErrTooSmall = errors.New("too small")

// fat32Layout computes the cluster count go-diskfs's fat32.Create gives a
// volume of size bytes with 512-byte sectors (same table as mkfs.fat).
func fat32Layout(size int64) (clusters int64, clusterBytes int64) {
	const reserved, ss = 32, 512
	switch {
	case size <= 260<<20:
		clusterBytes = 512
	case size <= 8<<30:
		clusterBytes = 4 << 10
	case size <= 16<<30:
		clusterBytes = 8 << 10
	case size <= 32<<30:
		clusterBytes = 16 << 10
	default:
		clusterBytes = 32 << 10
	}
	spc := clusterBytes / ss
	total := size / ss
	if total <= reserved {
		return 0, clusterBytes
	}
	denom := ss*spc + 8
	spf := (4*(total-reserved) + denom - 1) / denom
	data := total - reserved - 2*spf
	if data <= 0 {
		return 0, clusterBytes
	}
	return data / spc, clusterBytes
}

// checkFAT32 tells why a FAT32 file system of size bytes with label
// cannot be made, or returns nil.
func checkFAT32(size int64, label string) error {
	if c, _ := fat32Layout(size); c < FAT32MinClusters {
		return fmt.Errorf("%w for FAT32: %d bytes give %d clusters, FAT32 needs %d: make the partition at least 33 MiB", ErrTooSmall, size, c, FAT32MinClusters)
	}
	if size > FAT32MaxSize {
		return fmt.Errorf("%d bytes is more than the 32 GiB drd formats as FAT32", size)
	}
	if len(label) > 11 {
		return fmt.Errorf("FAT label %q is longer than 11 bytes", label)
	}
	for _, r := range label {
		if r < 0x20 || r > 0x7e || strings.ContainsRune(`"*+,./:;<=>?[\]|`, r) {
			return fmt.Errorf("FAT label %q: character %q is not allowed", label, r)
		}
	}
	return nil
}

// MakeFAT32 makes a FAT32 file system over the whole of dev (a partition
// device or an image file) with go-diskfs. size 0 means the size of dev.
// volumeID becomes the UUID blkid reports (XXXX-XXXX), label the
// LABEL ("" for none). Old signatures at the start and end of dev are
// cleared first, so blkid sees nothing but the new file system.
func MakeFAT32(dev string, size int64, label string, volumeID uint32) error {
	b, devSize, err := openFATBackend(dev, false)
	if err != nil {
		return fmt.Errorf("making FAT32 on %s: %w", dev, err)
	}
	defer b.Close()
	if size == 0 {
		size = devSize
	}
	if size > devSize {
		return fmt.Errorf("making FAT32 on %s: %w: %d bytes asked, device has %d", dev, ErrTooSmall, size, devSize)
	}
	if err := checkFAT32(size, label); err != nil {
		return fmt.Errorf("making FAT32 on %s: %w", dev, err)
	}
	w, err := b.Writable()
	if err != nil {
		return fmt.Errorf("making FAT32 on %s: %w", dev, err)
	}
	zero := make([]byte, wipeBytes)
	for _, s := range wipeSpans(size, nil) {
		if _, err := w.WriteAt(zero[:s.n], s.off); err != nil {
			return fmt.Errorf("making FAT32 on %s: clearing old signatures: %w", dev, err)
		}
	}
	if _, err := fat32.Create(b, size, 0, 512, label, true); err != nil {
		return fmt.Errorf("making FAT32 on %s: %w", dev, err)
	}
	if err := fitClustersToFAT(w); err != nil {
		return fmt.Errorf("making FAT32 on %s: %w", dev, err)
	}
	if err := fixFAT32(w); err != nil {
		return fmt.Errorf("making FAT32 on %s: %w", dev, err)
	}
	// go-diskfs takes no volume ID: set it in the boot sector and its
	// backup (sector 6).
	id := []byte{byte(volumeID), byte(volumeID >> 8), byte(volumeID >> 16), byte(volumeID >> 24)}
	for _, sector := range []int64{0, 6} {
		if _, err := w.WriteAt(id, sector*512+0x43); err != nil {
			return fmt.Errorf("making FAT32 on %s: writing volume ID: %w", dev, err)
		}
	}
	if f, ok := w.(interface{ Sync() error }); ok {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("making FAT32 on %s: %w", dev, err)
		}
	}
	return nil
}

package images

import (
	"fmt"
	"os"
)

// FATFree is the free space, in bytes, of the FAT32 file system on dev:
// its free clusters counted in the FAT (go-diskfs leaves FSInfo's count
// unknown, so it cannot be trusted).
func FATFree(dev string) (int64, error) {
	f, err := os.Open(dev)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	v, err := readFAT32Volume(f)
	if err != nil {
		return 0, fmt.Errorf("free space of %s: %w", dev, err)
	}
	var free int64
	for c := uint32(2); c < v.clusters+2 && int(c) < len(v.fat); c++ {
		if v.fat[c] == 0 {
			free++
		}
	}
	return free * v.p.clusterBytes(), nil
}

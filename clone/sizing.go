package clone

import (
	"fmt"

	"github.com/drd-linux/drd/bootenv"
)

const (
	mib = int64(1) << 20
	gib = int64(1) << 30

	biosBootSize = 1 * mib
	// gptOverhead: the protective MBR and primary GPT before the first
	// partition (aligned to 1 MiB) and the backup GPT at the end.
	gptOverhead = 2 * mib
	// defaultESPSize is the ESP made with -x esp=true when the source has none.
	defaultESPSize = 256 * mib
	// minESPSize: FAT32 needs 65525 clusters (33 MiB with 512-byte ones);
	// a smaller source ESP (FAT16) gets this much.
	minESPSize = 64 * mib
	// minFSSize is the smallest file system drd makes.
	minFSSize = 64 * mib
)

// need is what one critical file system needs of the target.
type need struct {
	mountPoint string
	size       int64 // size of the source file system (proportional share)
	used       int64 // bytes in use on the source
	fixed      bool  // take exactly size (an ESP)
	floor      int64 // the least its type allows (xfs: 300 MiB)
	optional   bool  // may get nothing (free space left in a VG)
	lvm        bool  // inside the clone's LVM physical volume, not a file system
}

// needOf is what source file system s, with used bytes in use, needs.
func needOf(s bootenv.SystemFS, used int64) need {
	n := need{mountPoint: s.MountPoint, size: s.Size, used: used, fixed: s.Type == "vfat", floor: minFSSize}
	if s.Type == "xfs" {
		n.floor = minXFSSize
	}
	return n
}

// minimum is the least a file system may get: its used space plus 10%.
func (n need) minimum() int64 {
	if n.optional {
		return 0
	}
	if n.fixed {
		return alignUp(n.size)
	}
	m := alignUp(n.used + n.used/10)
	return max(m, n.floor, minFSSize)
}

// required is the smallest target that holds all of needs.
func required(needs []need) int64 {
	total := gptOverhead + biosBootSize
	for _, n := range needs {
		total += n.minimum()
	}
	return total
}

// sizeTarget divides a target of targetSize bytes among needs: fixed
// needs get their size, the others a share proportional to their source
// size, never below used+10%. Sizes are multiples of 1 MiB; what rounding
// leaves goes to the first (the root) file system.
func sizeTarget(targetSize int64, needs []need) ([]int64, error) {
	if req := required(needs); targetSize < req {
		return nil, fmt.Errorf("the target has %s; the critical file systems need at least %s (their used space plus 10%%, and boot partitions)",
			humanSize(targetSize), humanSize(req))
	}
	avail := alignDown(targetSize - gptOverhead - biosBootSize)
	sizes := make([]int64, len(needs))
	free := map[int]bool{}
	for i, n := range needs {
		if n.fixed {
			sizes[i] = n.minimum()
			avail -= sizes[i]
		} else {
			free[i] = true
		}
	}
	// Give proportional shares; a need whose share is below its minimum is
	// pinned at the minimum and the rest shared again among the others.
	for len(free) > 0 {
		var total int64
		for i := range free {
			total += max(needs[i].size, 1)
		}
		pinned := false
		for i := range free {
			share := alignDown(int64(float64(avail) * float64(max(needs[i].size, 1)) / float64(total)))
			if m := needs[i].minimum(); share < m {
				sizes[i] = m
				avail -= m
				delete(free, i)
				pinned = true
			}
		}
		if pinned {
			continue
		}
		left := avail
		for i := range free {
			sizes[i] = alignDown(int64(float64(avail) * float64(max(needs[i].size, 1)) / float64(total)))
			left -= sizes[i]
		}
		// Rounding leftovers go to the first free need (the root).
		for i := range needs {
			if free[i] {
				sizes[i] += alignDown(left)
				break
			}
		}
		break
	}
	return sizes, nil
}

func alignUp(n int64) int64   { return (n + mib - 1) / mib * mib }
func alignDown(n int64) int64 { return n / mib * mib }

// humanSize prints bytes the way df -h does.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

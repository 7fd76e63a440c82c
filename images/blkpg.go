package images

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PartitionPath names partition n of disk dev as the kernel does: a "p"
// goes between a disk name ending in a digit and the number (nvme0n1p1,
// loop0p1, mmcblk0p2, md127p1), none otherwise (sda1, vdb1).
func PartitionPath(dev string, n int) string {
	if dev != "" && dev[len(dev)-1] >= '0' && dev[len(dev)-1] <= '9' {
		return dev + "p" + strconv.Itoa(n)
	}
	return dev + strconv.Itoa(n)
}

// partitionWait is how long ShowPartitions waits for partition device
// nodes to appear.
const partitionWait = 10 * time.Second

// ShowPartitions makes the kernel show parts (as written by WriteGPT) as
// partition devices of disk dev, and waits for their device nodes. It
// asks the kernel to re-read the table (BLKRRPART); when the kernel cannot
// parse it (no partition-table support, or a loop device without partition
// scanning) it deletes whatever partitions remain and adds each of parts
// with BLKPG.
func ShowPartitions(dev string, parts []Part) error {
	d, err := DeviceByPath(sysRoot, dev)
	if err != nil {
		return fmt.Errorf("showing partitions of %s: %w", dev, err)
	}
	if d.IsPartition() {
		return fmt.Errorf("showing partitions of %s: it is partition %d of %s, not a whole disk", dev, d.Partition, d.Disk)
	}
	f, err := os.OpenFile(dev, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("showing partitions of %s: %w", dev, err)
	}
	defer f.Close()
	rrErr := unix.IoctlSetInt(int(f.Fd()), unix.BLKRRPART, 0)

	// A kernel that parses the table shows the partitions at once, but
	// udev in the guest may still be reading them: give it a moment before
	// deciding that the kernel did not understand the table.
	// A partition being added shows in sysfs before its attributes do
	// ("dev" empty): such a read error passes too.
	current, err := Partitions(sysRoot, d.Name)
	for wait := time.Now().Add(2 * time.Second); (err != nil || rrErr == nil && len(current) > 0 && !samePartitions(current, parts)) && time.Now().Before(wait); {
		time.Sleep(50 * time.Millisecond)
		current, err = Partitions(sysRoot, d.Name)
	}
	if err != nil {
		return fmt.Errorf("showing partitions of %s: %w", dev, err)
	}
	if !samePartitions(current, parts) {
		if err := deletePartitions(f, current); err != nil {
			return fmt.Errorf("showing partitions of %s: %w", dev, err)
		}
		for _, p := range parts {
			err := blkpg(f, unix.BLKPG_ADD_PARTITION, p.Number, p.Start, p.Size)
			if errors.Is(err, unix.EBUSY) && appears(d.Name, p, 2*time.Second) {
				continue // the kernel's own reading of the table got there first
			}
			if err != nil {
				return fmt.Errorf("showing partitions of %s: adding partition %d (BLKRRPART said %v): %w", dev, p.Number, rrErr, err)
			}
		}
	}
	return waitForNodes(dev, parts, partitionWait)
}

// appears waits until the kernel shows partition p of disk as p.
func appears(disk string, p Part, wait time.Duration) bool {
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		current, err := Partitions(sysRoot, disk)
		if err != nil {
			return false
		}
		for _, k := range current {
			if k.Partition == p.Number && k.Start == p.Start && k.Size == p.Size {
				return true
			}
		}
	}
	return false
}

// samePartitions tells whether the kernel's partitions are exactly parts.
func samePartitions(kernel []Device, parts []Part) bool {
	if len(kernel) != len(parts) {
		return false
	}
	want := map[int]Part{}
	for _, p := range parts {
		want[p.Number] = p
	}
	for _, k := range kernel {
		p, ok := want[k.Partition]
		if !ok || p.Start != k.Start || p.Size != k.Size {
			return false
		}
	}
	return true
}

func waitForNodes(dev string, parts []Part, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for _, p := range parts {
		node := PartitionPath(dev, p.Number)
		for {
			fi, err := os.Stat(node)
			if err == nil && fi.Mode()&os.ModeDevice != 0 {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("partition %d of %s: device node %s did not appear within %v", p.Number, dev, node, wait)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// HidePartitions removes every partition of disk dev from the kernel
// (BLKPG_DEL_PARTITION); it fails on a partition in use (mounted, swap,
// LVM), not on one a probe holds for a moment (deletePartitions).
func HidePartitions(dev string) error {
	parts, err := Partitions(sysRoot, filepath.Base(dev))
	if err != nil {
		return fmt.Errorf("removing partitions of %s: %w", dev, err)
	}
	if len(parts) == 0 {
		return nil
	}
	f, err := os.OpenFile(dev, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("removing partitions of %s: %w", dev, err)
	}
	defer f.Close()
	return deletePartitions(f, parts)
}

// deletePartitions removes parts from the kernel's view of the open disk
// f. A partition that udev (or another program's scan: blkid, drd status)
// probes for a moment is busy for that moment: it is asked to go again a
// few times, about a second in all, before its EBUSY is final. One gone
// already (ENXIO) is no error.
func deletePartitions(f *os.File, parts []Device) error {
	const tries = 10 // the waits between grow by 20 ms: about a second in all
	for _, p := range parts {
		err := blkpg(f, unix.BLKPG_DEL_PARTITION, p.Partition, 0, 0)
		for i := 1; i < tries && errors.Is(err, unix.EBUSY); i++ {
			time.Sleep(time.Duration(i) * 20 * time.Millisecond)
			err = blkpg(f, unix.BLKPG_DEL_PARTITION, p.Partition, 0, 0)
		}
		if err != nil && !errors.Is(err, unix.ENXIO) {
			return fmt.Errorf("removing partition %s: %w", p.Name, busyHint(err))
		}
	}
	return nil
}

func busyHint(err error) error {
	if errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("%w: it is mounted, active swap or held by LVM/RAID", err)
	}
	return err
}

// blkpg adds or deletes partition n of the open disk f.
func blkpg(f *os.File, op int32, n int, start, size int64) error {
	p := unix.BlkpgPartition{Start: start, Length: size, Pno: int32(n)}
	arg := unix.BlkpgIoctlArg{
		Op:      op,
		Datalen: int32(unsafe.Sizeof(p)),
		Data:    (*byte)(unsafe.Pointer(&p)),
	}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.BLKPG, uintptr(unsafe.Pointer(&arg)))
	if errno != 0 {
		return errno
	}
	return nil
}

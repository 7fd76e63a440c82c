package images

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Device is a block device as sysfs shows it.
type Device struct {
	Name        string   // kernel name: vda, vda2, loop0p1, nvme0n1p3, dm-0
	Path        string   // /dev/<Name>
	Major       uint32   // device number
	Minor       uint32   //
	Disk        string   // name of the whole disk; == Name for a disk
	Partition   int      // partition number; 0 for a whole disk
	Start       int64    // bytes from the start of Disk (partitions)
	Size        int64    // bytes
	ReadOnly    bool     // the kernel refuses writes
	Holders     []string // devices stacked on this one (dm-0, md127)
	BackingFile string   // the file behind a loop device, "" otherwise
}

// IsPartition tells whether d is a partition of another block device.
func (d Device) IsPartition() bool { return d.Partition > 0 }

// sectorBytes is the unit of sysfs "size" and "start": always 512 bytes,
// whatever the logical block size of the device.
const sectorBytes = 512

// Devices lists every block device of /sys/class/block under sysDir
// ("/sys" or a test tree), sorted by name.
func Devices(sysDir string) ([]Device, error) {
	dir := filepath.Join(sysDir, "class", "block")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing block devices in %s: %w", dir, err)
	}
	devs := make([]Device, 0, len(entries))
	for _, e := range entries {
		d, err := readDevice(filepath.Join(dir, e.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue // removed while we looked (a loop partition deleted)
		}
		if err != nil {
			return nil, err
		}
		devs = append(devs, d)
	}
	sort.Slice(devs, func(i, j int) bool { return devs[i].Name < devs[j].Name })
	return devs, nil
}

// DeviceByName returns the block device with kernel name name (vda2).
func DeviceByName(sysDir, name string) (Device, error) {
	d, err := readDevice(filepath.Join(sysDir, "class", "block", name))
	if errors.Is(err, os.ErrNotExist) {
		return Device{}, fmt.Errorf("block device %s: %w: no %s in %s/class/block", name, ErrNoDevice, name, sysDir)
	}
	return d, err
}

// ErrNoDevice is returned when sysfs has no such block device.
var ErrNoDevice = errors.New("no such block device")

// DeviceByNumber returns the block device major:minor.
func DeviceByNumber(sysDir string, major, minor uint32) (Device, error) {
	link := filepath.Join(sysDir, "dev", "block", fmt.Sprintf("%d:%d", major, minor))
	d, err := readDevice(link)
	if errors.Is(err, os.ErrNotExist) {
		return Device{}, fmt.Errorf("block device %d:%d: %w (not in %s)", major, minor, ErrNoDevice, filepath.Dir(link))
	}
	return d, err
}

// DeviceByPath returns the block device a path names: /dev/vda2, or a
// symbolic link to one such as /dev/disk/by-uuid/<uuid>.
func DeviceByPath(sysDir, path string) (Device, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return Device{}, fmt.Errorf("block device %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return Device{}, fmt.Errorf("%s is not a block device", path)
	}
	return DeviceByNumber(sysDir, unix.Major(st.Rdev), unix.Minor(st.Rdev))
}

// Partitions lists the partitions of disk (a kernel name such as vdb, or
// a /dev path), sorted by partition number.
func Partitions(sysDir, disk string) ([]Device, error) {
	d, err := diskByNameOrPath(sysDir, disk)
	if err != nil {
		return nil, err
	}
	if d.IsPartition() {
		return nil, fmt.Errorf("listing partitions of %s: it is partition %d of %s, not a whole disk", disk, d.Partition, d.Disk)
	}
	target, err := filepath.EvalSymlinks(filepath.Join(sysDir, "class", "block", d.Name))
	if err != nil {
		return nil, fmt.Errorf("listing partitions of %s: %w", disk, err)
	}
	entries, err := os.ReadDir(target)
	if err != nil {
		return nil, fmt.Errorf("listing partitions of %s: %w", disk, err)
	}
	var parts []Device
	for _, e := range entries {
		sub := filepath.Join(target, e.Name())
		if _, err := os.Stat(filepath.Join(sub, "partition")); err != nil {
			continue
		}
		p, err := readDevice(sub)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].Partition < parts[j].Partition })
	return parts, nil
}

func diskByNameOrPath(sysDir, disk string) (Device, error) {
	if strings.ContainsRune(disk, '/') {
		return DeviceByPath(sysDir, disk)
	}
	return DeviceByName(sysDir, disk)
}

// readDevice reads the sysfs directory of one block device; dir may be a
// symbolic link such as /sys/class/block/vda or /sys/dev/block/254:0.
// The whole disk of a partition is its parent directory in /sys/devices.
func readDevice(dir string) (Device, error) {
	target, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return Device{}, fmt.Errorf("reading block device %s: %w", dir, err)
	}
	a := attrReader{dir: target}
	d := Device{Name: filepath.Base(target)}
	d.Path = "/dev/" + d.Name
	d.Major, d.Minor = a.devNumber("dev")
	d.Size = a.int("size") * sectorBytes
	d.ReadOnly = a.int("ro") != 0
	d.Disk = d.Name
	if a.exists("partition") {
		d.Partition = int(a.int("partition"))
		d.Start = a.int("start") * sectorBytes
		d.Disk = filepath.Base(filepath.Dir(target))
	}
	d.BackingFile = a.detaching("loop/backing_file")
	d.Holders = a.names("holders")
	if errors.Is(a.err, unix.ENODEV) || errors.Is(a.err, unix.ENXIO) {
		// Torn down while we read it (a partition deleted, a loop device
		// detached: its directory stays until the last reference goes):
		// as if it were gone already.
		return Device{}, fmt.Errorf("reading block device %s in %s: %w (%w)", d.Name, target, os.ErrNotExist, a.err)
	}
	if a.err != nil {
		return Device{}, fmt.Errorf("reading block device %s in %s: %w", d.Name, target, a.err)
	}
	return d, nil
}

// attrReader reads sysfs attributes of one directory, keeping the first
// error so that a device is read in one pass.
type attrReader struct {
	dir string
	err error
}

func (a *attrReader) exists(name string) bool {
	_, err := os.Stat(filepath.Join(a.dir, name))
	return err == nil
}

// string returns the trimmed attribute, "" if it does not exist.
func (a *attrReader) string(name string) string {
	b, err := os.ReadFile(filepath.Join(a.dir, name))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) && a.err == nil {
			a.err = err
		}
		return ""
	}
	return strings.TrimSpace(string(b))
}

// detaching is string for an attribute the kernel answers ENXIO for
// while the device is being torn down (a loop device detached while we
// read its backing_file): then it is "", as for a device without one.
func (a *attrReader) detaching(name string) string {
	b, err := os.ReadFile(filepath.Join(a.dir, name))
	switch {
	case err == nil:
		return strings.TrimSpace(string(b))
	case errors.Is(err, os.ErrNotExist), errors.Is(err, unix.ENXIO), errors.Is(err, unix.ENODEV):
		return ""
	}
	if a.err == nil {
		a.err = err
	}
	return ""
}

func (a *attrReader) int(name string) int64 {
	s := a.string(name)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil && a.err == nil {
		a.err = fmt.Errorf("attribute %s: %w", name, err)
	}
	return n
}

func (a *attrReader) devNumber(name string) (major, minor uint32) {
	if !a.exists(name) && a.err == nil {
		a.err = fmt.Errorf("attribute %s: %w", name, os.ErrNotExist)
	}
	s := a.string(name)
	majS, minS, ok := strings.Cut(s, ":")
	x, err1 := strconv.ParseUint(majS, 10, 32)
	y, err2 := strconv.ParseUint(minS, 10, 32)
	if (!ok || err1 != nil || err2 != nil) && a.err == nil {
		a.err = fmt.Errorf("attribute %s: %q is not major:minor", name, s)
	}
	return uint32(x), uint32(y)
}

func (a *attrReader) names(name string) []string {
	entries, err := os.ReadDir(filepath.Join(a.dir, name))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) && a.err == nil {
			a.err = err
		}
		return nil
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

package lvm2

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ControlPath is the device-mapper's control device (devtmpfs makes it
// when dm_mod is loaded).
const ControlPath = "/dev/mapper/control"

// Mapper creates device-mapper devices through the control device at
// Control ("": ControlPath).
type Mapper struct {
	Control string
}

// ErrExists: a device-mapper device of that name exists already.
var ErrExists = errors.New("device-mapper device exists")

const (
	dmIoctlSize = int(unsafe.Sizeof(unix.DmIoctl{}))      // 312
	dmSpecSize  = int(unsafe.Sizeof(unix.DmTargetSpec{})) // 40
)

// Create makes d a device (DM_DEV_CREATE), loads its table
// (DM_TABLE_LOAD) and resumes it, so that its block device dm-N
// appears; it returns the device's number. A device left half made is
// removed again.
func (m Mapper) Create(d Device) (major, minor uint32, err error) {
	path := m.Control
	if path == "" {
		path = ControlPath
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("opening the device-mapper (is dm_mod loaded?): %w", err)
	}
	defer f.Close()
	fd := int(f.Fd())
	if len(d.Name) >= unix.DM_NAME_LEN || len(d.UUID) >= unix.DM_UUID_LEN {
		return 0, 0, fmt.Errorf("device-mapper name %q or UUID %q is too long", d.Name, d.UUID)
	}
	buf := ioctlBuf(d.Name, d.UUID, nil)
	if err := dmIoctl(fd, unix.DM_DEV_CREATE, buf); err != nil {
		if errors.Is(err, unix.EBUSY) {
			return 0, 0, fmt.Errorf("creating %s: %w", d.Name, ErrExists)
		}
		return 0, 0, fmt.Errorf("creating device-mapper device %s: %w", d.Name, err)
	}
	dev := binary.NativeEndian.Uint64(buf[40:48])
	remove := func() { dmIoctl(fd, unix.DM_DEV_REMOVE, ioctlBuf(d.Name, "", nil)) }
	if err := dmIoctl(fd, unix.DM_TABLE_LOAD, ioctlBuf(d.Name, "", d.Targets)); err != nil {
		remove()
		return 0, 0, fmt.Errorf("loading the table of %s: %w", d.Name, err)
	}
	if err := dmIoctl(fd, unix.DM_DEV_SUSPEND, ioctlBuf(d.Name, "", nil)); err != nil { // no DM_SUSPEND_FLAG: resume
		remove()
		return 0, 0, fmt.Errorf("resuming %s: %w", d.Name, err)
	}
	return unix.Major(dev), unix.Minor(dev), nil
}

// ioctlBuf is a struct dm_ioctl for name (and uuid), followed by the
// target specs and their parameters when targets is not nil.
func ioctlBuf(name, uuid string, targets []Target) []byte {
	data := encodeTargets(targets)
	buf := make([]byte, dmIoctlSize+len(data)+1024) // room for the kernel's answer
	ne := binary.NativeEndian
	ne.PutUint32(buf[0:], unix.DM_VERSION_MAJOR)
	ne.PutUint32(buf[4:], 0)
	ne.PutUint32(buf[8:], 0)
	ne.PutUint32(buf[12:], uint32(len(buf)))    // data_size
	ne.PutUint32(buf[16:], uint32(dmIoctlSize)) // data_start
	ne.PutUint32(buf[20:], uint32(len(targets)))
	copy(buf[48:48+unix.DM_NAME_LEN-1], name)
	copy(buf[176:176+unix.DM_UUID_LEN-1], uuid)
	copy(buf[dmIoctlSize:], data)
	return buf
}

// encodeTargets writes dm_target_spec records, each followed by its
// NUL-terminated parameters and padded to 8 bytes; next is the offset
// of the following record from this one. Pure.
func encodeTargets(targets []Target) []byte {
	var out []byte
	for _, t := range targets {
		n := dmSpecSize + len(t.Params) + 1
		n = (n + 7) &^ 7
		rec := make([]byte, n)
		ne := binary.NativeEndian
		ne.PutUint64(rec[0:], uint64(t.Start))
		ne.PutUint64(rec[8:], uint64(t.Length))
		ne.PutUint32(rec[20:], uint32(n))
		copy(rec[24:24+15], t.Type)
		copy(rec[dmSpecSize:], t.Params)
		out = append(out, rec...)
	}
	return out
}

func dmIoctl(fd int, req uint, buf []byte) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(unsafe.Pointer(&buf[0])))
	if e != 0 {
		return e
	}
	return nil
}

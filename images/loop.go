package images

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// sysRoot is where the functions that act on this machine's devices read
// sysfs; the pure functions take it as an argument.
const sysRoot = "/sys"

// AttachLoop attaches file to a free loop device and returns its path
// (/dev/loop3). The device stays attached until DetachLoop (autoclear is
// off): drd keeps images attached across steps. Partition scanning is
// requested; on kernels without partition-table support ShowPartitions
// adds the partitions itself.
func AttachLoop(file string, readOnly bool) (string, error) {
	mode := os.O_RDWR
	var flags uint32 = unix.LO_FLAGS_PARTSCAN
	if readOnly {
		mode = os.O_RDONLY
		flags |= unix.LO_FLAGS_READ_ONLY
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", fmt.Errorf("attaching %s to a loop device: %w", file, err)
	}
	f, err := os.OpenFile(abs, mode, 0)
	if err != nil {
		return "", fmt.Errorf("attaching %s to a loop device: %w", file, err)
	}
	defer f.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("attaching %s to a loop device: %w (is the loop driver there, are you root?)", file, err)
	}
	defer ctl.Close()

	cfg := unix.LoopConfig{Fd: uint32(f.Fd())}
	cfg.Info.Flags = flags
	copy(cfg.Info.File_name[:len(cfg.Info.File_name)-1], loopMark+abs)

	// Another process may take the free device between GET_FREE and
	// CONFIGURE: the kernel then answers EBUSY and we ask again.
	const attempts = 20
	for i := 0; i < attempts; i++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return "", fmt.Errorf("attaching %s: no free loop device: %w", file, err)
		}
		dev := fmt.Sprintf("/dev/loop%d", n)
		lf, err := openWhenPresent(dev, mode, 2*time.Second)
		if err != nil {
			return "", fmt.Errorf("attaching %s to %s: %w", file, dev, err)
		}
		err = unix.IoctlLoopConfigure(int(lf.Fd()), &cfg)
		lf.Close()
		switch {
		case err == nil:
			return dev, nil
		case errors.Is(err, unix.EBUSY):
			time.Sleep(time.Duration(i+1) * 5 * time.Millisecond)
			continue
		default:
			return "", fmt.Errorf("attaching %s to %s: LOOP_CONFIGURE: %w", file, dev, err)
		}
	}
	return "", fmt.Errorf("attaching %s: every free loop device was taken by another process, %d times", file, attempts)
}

// loopMark starts the name AttachLoop gives the kernel's loop status
// (lo_file_name, "drd:/srv/clone.img"; losetup and sysfs show the real
// backing file, not this name): the loop device is drd's. drd detaches
// only what it attached, never a loop device the administrator attached
// to the same file.
const loopMark = "drd:"

// AttachedByDrd reports whether loop device dev was attached by drd
// (AttachLoop), not by someone else (losetup). A device that is not
// attached, or not a loop device, is not drd's.
func AttachedByDrd(dev string) bool {
	f, err := os.OpenFile(dev, os.O_RDONLY, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	info, err := unix.IoctlLoopGetStatus64(int(f.Fd()))
	if err != nil {
		return false
	}
	return isDrdMark(info.File_name[:])
}

// isDrdMark tells whether a loop status name field starts with loopMark.
func isDrdMark(name []byte) bool {
	return bytes.HasPrefix(name, []byte(loopMark))
}

// openWhenPresent opens a device node that devtmpfs (or udev) may create
// a moment after the kernel made the device.
func openWhenPresent(dev string, mode int, wait time.Duration) (*os.File, error) {
	deadline := time.Now().Add(wait)
	for {
		f, err := os.OpenFile(dev, mode, 0)
		if err == nil || !errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
			return f, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// DetachLoop removes the partitions of loop device dev and detaches it
// from its file. Detaching a loop device that is not attached is not an
// error. If something still holds the device open (a mount, a dm table)
// the kernel only schedules the detach: DetachLoop then reports it.
//
// A partition that udev (or another program's blkid) probes for a moment
// after it appeared is busy for that moment: the partitions are asked to
// go a few times (about a second). A partition still busy then (held by
// a mount or another program) does not keep the device attached for
// good: the detach is requested all the same, and the kernel carries it
// out, partitions and all, when the last holder lets go.
func DetachLoop(dev string) error {
	err := HidePartitions(dev)
	busy := err
	if err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("detaching %s: %w", dev, err)
	}
	f, err := os.OpenFile(dev, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("detaching %s: %w", dev, err)
	}
	err = unix.IoctlSetInt(int(f.Fd()), unix.LOOP_CLR_FD, 0)
	f.Close()
	if errors.Is(err, unix.ENXIO) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("detaching %s: LOOP_CLR_FD: %w", dev, err)
	}
	// Held open, the device is detached when the last holder closes it:
	// a probe (udev, another program's scan) lets go within moments.
	file := LoopBackingFile(sysRoot, dev)
	for i := 0; file != "" && i < 10; i++ {
		time.Sleep(time.Duration(i+1) * 20 * time.Millisecond)
		file = LoopBackingFile(sysRoot, dev)
	}
	if file != "" && busy != nil {
		return fmt.Errorf("detaching %s from %s: %w; the kernel detaches the device when it is closed", dev, file, busy)
	}
	if file != "" {
		return fmt.Errorf("detaching %s from %s: the device is still open (mounted or held); the kernel detaches it when it is closed", dev, file)
	}
	return nil
}

// LoopBackingFile returns the file behind loop device dev (a name such as
// loop0 or a path /dev/loop0), or "" if dev is not an attached loop device.
func LoopBackingFile(sysDir, dev string) string {
	b, err := os.ReadFile(filepath.Join(sysDir, "class", "block", filepath.Base(dev), "loop", "backing_file"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// LoopsOf returns the loop devices (/dev/loopN) attached to file.
func LoopsOf(sysDir, file string) ([]string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	devs, err := Devices(sysDir)
	if err != nil {
		return nil, err
	}
	var loops []string
	for _, d := range devs {
		if d.BackingFile == abs {
			loops = append(loops, d.Path)
		}
	}
	return loops, nil
}

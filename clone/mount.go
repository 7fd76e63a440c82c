package clone

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// bindReadOnly binds the file system at src (only it: not the file systems
// mounted below it) at dir: read-only, noatime (reading a symbolic link
// must not change its access time), and private, so that nothing mounted
// later propagates into it.
func bindReadOnly(src, dir string, u *undo) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := unix.Mount(src, dir, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mounting %s at %s: %w", src, dir, err)
	}
	u.push(func() error { return unmount(dir) })
	if err := unix.Mount("", dir, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making %s private: %w", dir, err)
	}
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOATIME, ""); err != nil {
		return fmt.Errorf("making %s read-only: %w", dir, err)
	}
	return nil
}

// mountDev mounts a device at dir, private.
func mountDev(dev, dir, typ string, flags uintptr, u *undo) error {
	return mountDevData(dev, dir, typ, flags, "", u)
}

// mountDevData mounts a device at dir with file-system options data, private.
func mountDevData(dev, dir, typ string, flags uintptr, data string, u *undo) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := unix.Mount(dev, dir, typ, flags, data); err != nil {
		return fmt.Errorf("mounting %s (%s) at %s: %w", dev, typ, dir, err)
	}
	u.push(func() error { return unmount(dir) })
	if err := unix.Mount("", dir, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making %s private: %w", dir, err)
	}
	return nil
}

func unmount(dir string) error {
	if err := unix.Unmount(dir, 0); err != nil {
		return fmt.Errorf("unmounting %s: %w", dir, err)
	}
	os.Remove(dir)
	return nil
}

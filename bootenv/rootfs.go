package bootenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// onRootFS calls f with a view of the root file system of the image at
// root, where its record lives and where Scan reads it: root itself,
// unless a file system of its own (/var on an LV, layout b) is mounted
// over the way to DataDir; then a private bind mount of root alone,
// which shows what lies beneath that mount.
func onRootFS(root string, f func(dir string) error) error {
	covered, err := dataDirCovered(root)
	if err != nil || !covered {
		return f(root)
	}
	tmp, err := os.MkdirTemp("", "drd-rootfs-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := unix.Mount(root, tmp, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("reaching the root file system of %s beneath its /var: %w", root, err)
	}
	// Not seen by, nor propagated to, other mount namespaces' peers.
	unix.Mount("", tmp, "", unix.MS_PRIVATE, "")
	ferr := f(tmp)
	if err := unix.Unmount(tmp, 0); err != nil {
		err = unix.Unmount(tmp, unix.MNT_DETACH)
		ferr = errors.Join(ferr, err)
	}
	return ferr
}

// dataDirCovered tells whether the deepest existing directory on the way
// to DataDir under root is on another file system than root.
func dataDirCovered(root string) (bool, error) {
	var rs unix.Stat_t
	if err := unix.Stat(root, &rs); err != nil {
		return false, err
	}
	for d := filepath.Join(root, DataDir); d != filepath.Clean(root) && len(d) > len(filepath.Clean(root)); d = filepath.Dir(d) {
		var ds unix.Stat_t
		if err := unix.Stat(d, &ds); err != nil {
			continue
		}
		return ds.Dev != rs.Dev, nil
	}
	return false, nil
}

package bootenv

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/internal/mount"
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
	// Private: not seen by, nor propagated to, other mount namespaces'
	// peers. Detach: a view still in use goes lazily.
	called := false
	err = mount.With(mount.Spec{Source: root, Bind: true, Private: true, Detach: true, Pattern: "drd-rootfs-"}, func(dir string) error {
		called = true
		return f(dir)
	})
	if err != nil && !called {
		return fmt.Errorf("reaching the root file system of %s beneath its /var: %w", root, err)
	}
	return err
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

package bootenv

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/drd-linux/drd/internal/report"
)

// WithImage calls fn with the root directory of the image name ("" for
// the booted one) and the image, and leaves the image as it found it:
// the booted image is read where it runs, an image mounted already
// (drd mount) where it is mounted; any other is mounted for fn only,
// read-only unless writable, and unmounted after.
func WithImage(ctx context.Context, root, name string, writable bool, r report.Reporter, fn func(dir string, img *Image) error) error {
	return Real(root).WithImage(ctx, name, writable, r, fn)
}

// WithImage is the package function on m.
func (m Machine) WithImage(ctx context.Context, name string, writable bool, r report.Reporter, fn func(dir string, img *Image) error) (err error) {
	st, err := m.Scan(ctx)
	if err != nil {
		return err
	}
	if st.Booted != nil && (name == "" || name == st.Booted.Name) {
		return fn(m.Root, st.Booted)
	}
	if name == "" {
		return errors.New("no booted image found: name the image to read")
	}
	img, err := st.Inactive(name)
	if err != nil {
		return err
	}
	dir := MountDir(m.Root, img.Name)
	mounts, err := ReadMountinfo(m.ProcDir)
	if err != nil {
		return err
	}
	if len(MountsUnder(mounts, dir)) > 0 {
		return fn(dir, img)
	}
	if dir, err = m.MountImage(ctx, img, !writable, r); err != nil {
		return err
	}
	defer func() {
		if uerr := m.Umount(context.WithoutCancel(ctx), img.Name, r); uerr != nil {
			r.Warn("%s stays mounted at %s: %v", img.Name, dir, uerr)
		}
	}()
	return fn(filepath.Clean(dir), img)
}

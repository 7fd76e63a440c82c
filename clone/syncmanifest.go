package clone

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/drd-linux/drd/clone/imagesync"
	"github.com/drd-linux/drd/pkgdb"
)

// recordManifest writes into the clone what the copy wrote (drd sync's
// manifest, docs/sync.md): every entry of each file system beside the
// source entry it came from, /etc as cloned and the booted image's
// packages. It runs right after the copy (before the fix-ups, which are
// the clone's own changes), while the source is still there to compare.
func (c *run) recordManifest(ctx context.Context) error {
	mps := mountPoints(c.FS)
	m := &imagesync.Manifest{Packages: pkgdb.Read(c.opt.Root)}
	holder := imagesync.Holder(mps, imagesync.ManifestPath)
	holderDir := ""
	for i, f := range c.FS {
		if f.IsESP() || c.dst[i] == "" {
			continue
		}
		if f.MountPoint == holder {
			holderDir = c.dst[i]
		}
		if f.MountPoint == "/boot" || filepath.Dir(f.MountPoint) == "/boot" {
			continue // never synced
		}
		src, release, err := c.source(i)
		if err != nil {
			return err
		}
		entries, err := imagesync.Record(ctx, src, c.dst[i], imagesync.Prune(f.MountPoint, mps))
		release()
		if err != nil {
			return err
		}
		m.FS = append(m.FS, imagesync.FS{MountPoint: f.MountPoint, Entries: entries})
		if f.MountPoint == "/" {
			if m.Etc, err = imagesync.ReadEtc(ctx, filepath.Join(c.dst[i], "etc")); err != nil {
				return err
			}
		}
	}
	if holderDir == "" {
		return fmt.Errorf("the clone has no file system for %s", imagesync.ManifestPath)
	}
	return imagesync.WriteManifest(holderDir, holder, m)
}

package clone

import (
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/report"
)

// releaseStale undoes what a clone that died (kill -9, power loss) left:
// its private mounts under /var/opt/drd/mnts/.source-* and .clone-*, and
// loop devices still attached to the image file it wrote. The caller holds
// drd's lock, so no living clone owns them.
func releaseStale(opt Options, r report.Reporter) error {
	mounts, err := bootenv.ReadMountinfo(opt.ProcDir)
	if err != nil {
		return err
	}
	work := filepath.Join(opt.Root, bootenv.MountsDir)
	under := bootenv.MountsUnder(mounts, work)
	for i := len(under) - 1; i >= 0; i-- {
		name := strings.SplitN(strings.TrimPrefix(under[i].MountPoint, "/"), "/", 2)[0]
		if !strings.HasPrefix(name, ".source-") && !strings.HasPrefix(name, ".clone-") {
			continue
		}
		at := filepath.Join(work, under[i].MountPoint)
		if err := unix.Unmount(at, 0); err != nil {
			if err := unix.Unmount(at, unix.MNT_DETACH); err != nil {
				return fmt.Errorf("releasing %s, left mounted by an interrupted clone: %w", at, err)
			}
		}
		r.Note("released %s, left mounted by an interrupted clone", at)
	}
	if st, err := filepath.Abs(opt.Target); err == nil && !strings.HasPrefix(st, "/dev/") {
		loops, _ := images.LoopsOf(opt.SysDir, st)
		for _, l := range loops {
			d, err := images.DeviceByPath(opt.SysDir, l)
			if err != nil {
				continue
			}
			if busy, err := images.InUse(opt.SysDir, opt.ProcDir, d); err != nil || len(busy) > 0 {
				continue // in use (drd mount): the target check will say so
			}
			if err := images.DetachLoop(l); err == nil {
				r.Note("detached %s from %s, left by an interrupted clone", l, st)
			}
		}
	}
	return nil
}

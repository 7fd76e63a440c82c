package clone

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/report"
)

// releaseStale undoes what a clone that died (kill -9, power loss) left:
// its private mounts under /var/opt/drd/mnts/.source-* and .clone-*, and
// loop devices it attached (images.AttachedByDrd) still attached to the
// image file it wrote. The caller holds
// drd's lock, so no living clone owns them.
func releaseStale(ctx context.Context, opt Options, r report.Reporter) error {
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
	if err := releaseStaleLVM(ctx, opt, r); err != nil {
		return err
	}
	if st, err := filepath.Abs(opt.Target); err == nil && !strings.HasPrefix(st, "/dev/") {
		loops, _ := images.LoopsOf(opt.SysDir, st)
		for _, l := range loops {
			if !images.AttachedByDrd(l) {
				continue // the administrator's own (losetup): never drd's to detach
			}
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

// releaseStaleLVM removes the snapshots a killed clone left (any LV named
// *_drdsnap that is a snapshot) and deactivates the volume groups of
// clones on the target that nothing uses, so that the target can be
// written again.
func releaseStaleLVM(ctx context.Context, opt Options, r report.Reporter) error {
	if !bootenv.HasActiveLVs(opt.SysDir) {
		return nil
	}
	lvm, err := bootenv.ReadLVM(ctx, opt.Runner)
	if err != nil {
		return err
	}
	for _, lv := range lvm.LVs {
		if !isDrdSnapshot(lv) {
			continue
		}
		if _, err := opt.Runner.Run(ctx, "lvremove", "--config", lvmConfig, "-y", lv.VG+"/"+lv.Name); err != nil {
			return fmt.Errorf("removing snapshot %s/%s, left by an interrupted clone: %w", lv.VG, lv.Name, err)
		}
		r.Note("removed snapshot %s/%s, left by an interrupted clone", lv.VG, lv.Name)
	}
	devs, err := bootenv.ReadDevices(opt.SysDir)
	if err != nil {
		return err
	}
	var targets []string
	if d, err := images.DeviceByPath(opt.SysDir, opt.Target); err == nil {
		targets = []string{"/dev/" + d.Disk}
	} else if abs, err := filepath.Abs(opt.Target); err == nil && !strings.HasPrefix(abs, "/dev/") {
		targets, _ = images.LoopsOf(opt.SysDir, abs)
	}
	for _, v := range vgsOnTarget(lvm, diskOfPV(opt.SysDir), targets) {
		if len(v.Active) == 0 || !slices.Contains(bootenv.CloneVGs(devs, lvm), v.Name) || anyOpen(lvm, v.Name) {
			continue
		}
		if _, err := opt.Runner.Run(ctx, "vgchange", "-an", v.Name); err != nil {
			return fmt.Errorf("deactivating volume group %s on the target, left active by an interrupted clone: %w", v.Name, err)
		}
		r.Note("deactivated volume group %s on the target, left active by an interrupted clone", v.Name)
	}
	return nil
}

// anyOpen tells whether an LV of vg is open (mounted, in use).
func anyOpen(lvm *bootenv.LVM, vg string) bool {
	return slices.ContainsFunc(lvm.LVsOf(vg), bootenv.LogicalVolume.Open)
}

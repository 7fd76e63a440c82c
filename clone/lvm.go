package clone

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/images"
)

// A root on LVM: the clone gets one physical volume partition holding a
// new volume group, drd_<vg>, with the same logical volumes.

const (
	// extentSize of the clone's volume group (vgcreate -s).
	extentSize = 4 * mib
	// pvOverhead: the PV label and metadata area before the first extent,
	// and the part of the partition that makes no whole extent.
	pvOverhead = 4 * mib
)

// VGPlan is the clone's new volume group.
type VGPlan struct {
	Source string   // the booted root's VG: sysvg
	Name   string   // the clone's: drd_sysvg
	Part   int      // index in Plan.Parts of its physical volume
	Remove []string // VGs of an earlier clone, wholly on the target, removed first
	// SourceFree is what the source VG has free; the clone's keeps the
	// same share of its size free (room for snapshots).
	SourceFree int64
}

// pvPath is the device of the VG's physical volume once the target's
// partitions are visible.
func (v *VGPlan) pvPath(p *Plan, disk string) string {
	return images.PartitionPath(disk, p.Parts[v.Part].Number)
}

// vgNeeds are what a new VG asks of the target beyond its LVs: its
// metadata and extent rounding (fixed), and free space in proportion to
// the source VG's (may shrink to nothing).
func vgNeeds(v *VGPlan, lvs int) []need {
	return []need{
		{mountPoint: "(LVM metadata)", size: pvOverhead + int64(lvs)*extentSize, fixed: true, lvm: true},
		{mountPoint: "(free in " + v.Name + ")", size: v.SourceFree, optional: true, lvm: true},
	}
}

// newVGName derives the clone's VG name from the source's: drd_<vg>, or
// <vg> again when the source is itself a clone (drd_<vg>) and <vg> is
// free, else with a suffix _2, _3... A name is free when no VG has it, or
// when the VG that has it lies wholly on the target (it will be removed).
func newVGName(src string, existing, onTarget []string) string {
	free := func(n string) bool { return !slices.Contains(existing, n) || slices.Contains(onTarget, n) }
	base := strings.TrimPrefix(src, "drd_")
	cands := []string{"drd_" + base}
	if base != src {
		cands = append(cands, base)
	}
	for _, c := range cands {
		if c != src && free(c) {
			return c
		}
	}
	for i := 2; ; i++ {
		if c := "drd_" + base + "_" + strconv.Itoa(i); free(c) {
			return c
		}
	}
}

// vgOnTarget is a volume group with a physical volume on the target.
type vgOnTarget struct {
	Name      string
	PVs       []string // its PVs on the target
	Elsewhere []string // its PVs on other disks
	Active    []string // its active LVs
}

// vgsOnTarget lists the VGs with a PV on the target disk (or one of the
// target file's loop devices). diskOf gives the whole disk of a PV path.
func vgsOnTarget(lvm *bootenv.LVM, diskOf func(string) string, targetDisks []string) []vgOnTarget {
	var out []vgOnTarget
	for _, vg := range lvm.VGs {
		v := vgOnTarget{Name: vg.Name}
		for _, pv := range lvm.PVsOf(vg.Name) {
			if slices.Contains(targetDisks, diskOf(pv.Path)) {
				v.PVs = append(v.PVs, pv.Path)
			} else {
				v.Elsewhere = append(v.Elsewhere, pv.Path)
			}
		}
		if len(v.PVs) == 0 {
			continue
		}
		for _, lv := range lvm.LVsOf(vg.Name) {
			if lv.Active() {
				v.Active = append(v.Active, lv.Name)
			}
		}
		out = append(out, v)
	}
	return out
}

// checkTargetVGs refuses a target that holds a PV of a volume group in
// use, or of one that spans other disks too. Pure.
func checkTargetVGs(target string, vgs []vgOnTarget) error {
	for _, v := range vgs {
		if len(v.Active) > 0 {
			return fmt.Errorf("target %s holds physical volume %s of volume group %s, which is in use (active logical volumes: %s): unmount them and run vgchange -an %s, or choose another disk",
				target, strings.Join(v.PVs, ", "), v.Name, strings.Join(v.Active, ", "), v.Name)
		}
		if len(v.Elsewhere) > 0 {
			return fmt.Errorf("target %s holds physical volume %s of volume group %s, which also lives on %s: overwriting it would break %s; move it off (pvmove, vgreduce) or choose another disk",
				target, strings.Join(v.PVs, ", "), v.Name, strings.Join(v.Elsewhere, ", "), v.Name)
		}
	}
	return nil
}

// lvmPlan plans the clone's VG: its name, and the VGs of an earlier
// clone on the target to remove first.
func lvmPlan(lvm *bootenv.LVM, src *bootenv.Layout, onTarget []vgOnTarget) (*VGPlan, error) {
	vg, ok := lvm.VG(src.VG)
	if !ok {
		return nil, fmt.Errorf("the root is on volume group %s, which vgs does not list", src.VG)
	}
	var names, stale []string
	for _, v := range lvm.VGs {
		names = append(names, v.Name)
	}
	for _, v := range onTarget {
		stale = append(stale, v.Name)
	}
	return &VGPlan{Source: src.VG, Name: newVGName(src.VG, names, stale), Remove: stale, SourceFree: vg.Free}, nil
}

// diskOfPV returns the whole disk (/dev/vdc) holding a PV path.
func diskOfPV(sysDir string) func(string) string {
	return func(p string) string {
		d, err := images.DeviceByPath(sysDir, p)
		if err != nil {
			return ""
		}
		return "/dev/" + d.Disk
	}
}

// removeOldVGs removes the volume groups an earlier clone left on the
// target, before the target is wiped (LVM no longer finds them after).
func (c *run) removeOldVGs(ctx context.Context) error {
	if c.VG == nil {
		return nil
	}
	for _, old := range c.VG.Remove {
		if _, err := c.opt.Runner.Run(ctx, "vgremove", "-ff", "-y", old); err != nil {
			if strings.Contains(err.Error(), "not found") {
				continue
			}
			return fmt.Errorf("removing volume group %s, left on the target by an earlier clone: %w", old, err)
		}
		c.r.Note("removed volume group %s, left on the target by an earlier clone", old)
	}
	return nil
}

// makeVG turns the clone's PV partition into its volume group and makes
// its logical volumes; the undo stack removes the VG again unless the
// clone completes, and deactivates it at the end.
func (c *run) makeVG(ctx context.Context) error {
	v := c.VG
	pv := v.pvPath(c.Plan, c.disk)
	if err := c.pvcreate(ctx, pv); err != nil {
		return fmt.Errorf("making %s a physical volume for the clone: %w", pv, err)
	}
	if _, err := c.opt.Runner.Run(ctx, "vgcreate", "-s", strconv.FormatInt(extentSize, 10)+"b", v.Name, pv); err != nil {
		c.opt.Runner.Run(context.WithoutCancel(ctx), "pvremove", "-ff", "-y", pv)
		return fmt.Errorf("making volume group %s on %s: %w", v.Name, pv, err)
	}
	name := v.Name
	c.u.push(func() error {
		if c.rec != nil && c.rec.State == bootenv.Complete {
			_, err := c.opt.Runner.Run(context.Background(), "vgchange", "-an", name)
			if err != nil {
				return fmt.Errorf("deactivating the clone's volume group %s: %w", name, err)
			}
			return nil
		}
		if _, err := c.opt.Runner.Run(context.Background(), "vgremove", "-ff", "-y", name); err != nil {
			return fmt.Errorf("removing the unfinished clone's volume group %s: %w", name, err)
		}
		return nil
	})
	c.r.Note("volume group %s on %s", v.Name, pv)
	for _, f := range c.FS {
		if f.LV == "" {
			continue
		}
		if _, err := c.opt.Runner.Run(ctx, "lvcreate", "-y", "-W", "y", "-Z", "y", "-n", f.LV, "-L", strconv.FormatInt(f.Size, 10)+"b", v.Name); err != nil {
			return fmt.Errorf("making logical volume %s/%s for %s: %w", v.Name, f.LV, f.MountPoint, err)
		}
		c.r.Note("logical volume %s/%s, %s, for %s", v.Name, f.LV, humanSize(f.Size), f.MountPoint)
	}
	return nil
}

// pvcreate makes pv a physical volume. Right after the partition table is
// written udev may still be re-reading it (its watch on the disk): the
// partition comes and goes, and pvcreate says "No device found" (seen
// once in a VM). Then it waits for udev's queue and tries again, a few
// times; any other failure is final.
func (c *run) pvcreate(ctx context.Context, pv string) error {
	var err error
	for try := 1; ; try++ {
		_, err = c.opt.Runner.Run(ctx, "pvcreate", "-ff", "-y", pv)
		if err == nil || try == pvcreateTries || !strings.Contains(err.Error(), "No device found") {
			return err
		}
		c.opt.Runner.Run(ctx, "udevadm", "settle", "--timeout=10") // best effort: without udev there is nothing to wait for
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(pvcreatePause):
		}
	}
}

// How often and how far apart pvcreate is tried when the device is gone.
const (
	pvcreateTries = 5
	pvcreatePause = 500 * time.Millisecond
)

package clone

import (
	"context"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
)

// imageMargin is what a new image file gets beyond the used space: room
// for patches and the boot partitions.
const imageMargin = 1 * gib

// makePlan reads the machine (mount table, fstab, block devices, the
// target) and works out the clone. It writes nothing.
func makePlan(ctx context.Context, opt Options) (*Plan, error) {
	src, err := bootenv.Machine{Root: opt.Root, SysDir: opt.SysDir, ProcDir: opt.ProcDir, Runner: opt.Runner}.DiscoverBooted(ctx)
	if err != nil {
		return nil, err
	}
	origin, err := bootenv.BootedRecord(opt.Root)
	if err != nil {
		return nil, err
	}
	usage, err := measure(src)
	if err != nil {
		return nil, err
	}
	facts, err := readTarget(opt.SysDir, opt.ProcDir, opt.Target)
	if err != nil {
		return nil, err
	}
	var deactivated []string
	if facts.isBlock && !facts.partition && facts.signature != "" && !opt.Overwrite {
		// Without -x overwrite=true, the one data a disk may carry is a
		// retired image of this system (drd commit).
		var r retiredOnDisk
		if r, deactivated, err = retiredTarget(ctx, opt, facts.disk); err != nil {
			return nil, err
		}
		if len(deactivated) > 0 {
			if facts, err = readTarget(opt.SysDir, opt.ProcDir, opt.Target); err != nil {
				return nil, err
			}
		}
		facts.retired = r
	}
	p := &Plan{Source: src, Origin: origin, ID: bootenv.NewID(), Deactivated: deactivated}
	if len(facts.retired.other) == 0 {
		p.Reuses = facts.retired.image
	}
	p.Target = Target{Given: opt.Target, Size: facts.size}
	if facts.isBlock {
		p.Target.Disk = facts.disk
	} else {
		abs, err := filepath.Abs(opt.Target)
		if err != nil {
			return nil, err
		}
		p.Target.File, p.Target.Create = abs, !facts.exists
	}

	if src.VG != "" {
		lvm, err := bootenv.ReadLVM(ctx, opt.Runner)
		if err != nil {
			return nil, err
		}
		targets := append([]string{facts.disk}, facts.loops...)
		onTarget := vgsOnTarget(lvm, diskOfPV(opt.SysDir), targets)
		if err := checkTargetVGs(opt.Target, onTarget); err != nil {
			return nil, err
		}
		if p.VG, err = lvmPlan(lvm, src, onTarget); err != nil {
			return nil, err
		}
		if p.Snaps, p.NoSnaps, err = planSnapshots(lvm, src, opt.Snapshot); err != nil {
			return nil, err
		}
	}

	// A dry run of the layout gives the least the target must hold.
	var needs []need
	lvs := 0
	for _, c := range src.Critical {
		needs = append(needs, needOf(c, usage[c.MountPoint].bytes))
		if p.VG != nil && c.VG == p.VG.Source && c.LV != "" {
			lvs++
		}
	}
	if opt.ESP {
		needs = append(needs, need{mountPoint: "/boot/efi", size: defaultESPSize, fixed: true})
	}
	if p.VG != nil {
		needs = append(needs, vgNeeds(p.VG, lvs)...)
	}
	minimum := required(needs)
	if p.Target.File != "" {
		switch {
		case opt.ImageSize > 0:
			p.Target.Size = opt.ImageSize
		case !facts.exists:
			p.Target.Size = alignUp(minimum + minimum/4 + imageMargin)
		}
		facts.size = p.Target.Size
		facts.exists = true
	}
	if err := checkTarget(facts, src, minimum, opt.Overwrite); err != nil {
		return nil, err
	}
	if p.Name, err = cloneName(ctx, opt, onTarget{disk: p.Target.Disk, file: p.Target.File}); err != nil {
		return nil, err
	}
	p.Parts, p.FS, err = layout(p.Name, src.Critical, usage, p.Target.Size, opt.ESP, p.VG)
	if err != nil {
		return nil, fmt.Errorf("laying out %s: %w", opt.Target, err)
	}
	p.stampID()
	return p, nil
}

// measure reads the used space and inodes of every critical file system.
// One that is not mounted counts as full: drd cannot look inside it
// without mounting it.
func measure(l *bootenv.Layout) (map[string]fsUsage, error) {
	u := map[string]fsUsage{}
	for i, c := range l.Critical {
		if !c.Mounted() {
			u[c.MountPoint] = fsUsage{bytes: c.Size}
			l.Critical[i].Used = c.Size
			continue
		}
		var st unix.Statfs_t
		if err := unix.Statfs(c.HostPath, &st); err != nil {
			return nil, fmt.Errorf("measuring %s: %w", c.HostPath, err)
		}
		u[c.MountPoint] = fsUsage{bytes: c.Used, inodes: int64(st.Files - st.Ffree)}
	}
	return u, nil
}

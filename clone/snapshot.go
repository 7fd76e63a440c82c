package clone

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/drd-linux/drd/bootenv"
)

// A consistent source: when the root's volume group has room, the copy
// reads from LVM snapshots of the critical LVs, all taken while every one
// of their file systems is frozen, so the clone is one instant of the
// system and needs no second pass.

const (
	// snapSuffix names drd's snapshots: root_drdsnap. releaseStale removes
	// any snapshot so named that a killed clone left.
	snapSuffix = "_drdsnap"
	// minSnapSize is the least copy-on-write room a snapshot gets.
	minSnapSize = 64 * mib
	// frozenTimeout bounds one lvcreate while the file systems are frozen.
	frozenTimeout = 2 * time.Minute
)

// The values of -x snapshot.
const (
	SnapshotAuto   = "auto"   // snapshots when the VG has room, else two passes and a warning
	SnapshotAlways = "always" // snapshots, or an error before anything is written
	SnapshotNever  = "never"  // two passes
)

// lvmConfig keeps LVM from writing its metadata backups into /etc while
// the file systems are frozen: the snapshots live only during the clone.
const lvmConfig = "backup{backup=0 archive=0}"

// snapshot is a temporary snapshot of one critical LV.
type snapshot struct {
	VG, Origin, Name string
	Size             int64 // copy-on-write room, bytes
	MountPoint       string
	HostPath         string // where the origin is mounted
}

// device is the snapshot's device node.
func (s snapshot) device() string { return "/dev/mapper/" + bootenv.DMName(s.VG, s.Name) }

// snapshotSize is the copy-on-write room of a snapshot of an LV of
// lvSize bytes: a tenth of it, at least minSnapSize, whole extents.
func snapshotSize(lvSize, extent int64) int64 {
	s := max(lvSize/10, minSnapSize)
	if extent <= 0 {
		extent = extentSize
	}
	return (s + extent - 1) / extent * extent
}

// isDrdSnapshot tells a snapshot drd made, also one whose making failed
// half-way (LVM then leaves a plain LV of that name).
func isDrdSnapshot(lv bootenv.LogicalVolume) bool {
	return strings.HasSuffix(lv.Name, snapSuffix)
}

// planSnapshots decides whether the copy reads from snapshots: which,
// and of what size. It returns no snapshots and the reason when the VG
// has too little free space (auto) and an error for always. Pure.
func planSnapshots(lvm *bootenv.LVM, src *bootenv.Layout, mode string) ([]snapshot, string, error) {
	switch mode {
	case "", SnapshotAuto, SnapshotAlways:
	case SnapshotNever:
		return nil, "-x snapshot=never", nil
	default:
		return nil, "", fmt.Errorf("-x snapshot=%s: want auto, always or never", mode)
	}
	vg, ok := lvm.VG(src.VG)
	if !ok {
		return nil, "", fmt.Errorf("volume group %s of the root is not in the vgs report", src.VG)
	}
	var snaps []snapshot
	var need int64
	var names []string
	for _, c := range src.Critical {
		if c.VG != src.VG || c.LV == "" || !c.Mounted() {
			continue
		}
		s := snapshot{VG: c.VG, Origin: c.LV, Name: c.LV + snapSuffix, Size: snapshotSize(c.Size, vg.ExtentSize),
			MountPoint: c.MountPoint, HostPath: c.HostPath}
		snaps = append(snaps, s)
		need += s.Size
		names = append(names, c.LV)
	}
	if len(snaps) == 0 {
		return nil, "no mounted logical volume to snapshot", nil
	}
	if need > vg.Free {
		why := fmt.Sprintf("volume group %s has %s free; snapshots of %s need %s", vg.Name, humanSize(vg.Free), strings.Join(names, ", "), humanSize(need))
		if mode == SnapshotAlways {
			return nil, "", fmt.Errorf("-x snapshot=always: %s: free space in %s (vgextend, lvreduce) or use -x snapshot=auto", why, vg.Name)
		}
		return nil, why, nil
	}
	return snaps, "", nil
}

// takeSnapshots takes the snapshots together: every snapshotted file
// system is frozen (fsfreeze), then each in turn is thawed just for LVM,
// which freezes it again itself while it takes its snapshot (the kernel
// refuses to suspend a device whose file system fsfreeze holds), and
// frozen again; at the end all are thawed, whatever happened. Nothing is
// reported while any is frozen: drd's own log may be on one of them.
func (c *run) takeSnapshots(ctx context.Context) (err error) {
	snaps := append([]snapshot(nil), c.Snaps...)
	sort.SliceStable(snaps, func(i, j int) bool { return pathDepth(snaps[i].MountPoint) > pathDepth(snaps[j].MountPoint) })
	frozen := map[string]bool{}
	run := func(ctx context.Context, args ...string) error {
		_, err := c.opt.Runner.Run(ctx, args[0], args[1:]...)
		return err
	}
	thaw := func(s snapshot) error {
		if !frozen[s.HostPath] {
			return nil
		}
		if err := run(context.WithoutCancel(ctx), "fsfreeze", "-u", s.HostPath); err != nil {
			return fmt.Errorf("thawing %s: %w", s.MountPoint, err)
		}
		delete(frozen, s.HostPath)
		return nil
	}
	defer func() {
		for i := len(snaps) - 1; i >= 0; i-- {
			if terr := thaw(snaps[i]); terr != nil && err == nil {
				err = terr
			}
		}
	}()
	for _, s := range snaps {
		if err := run(ctx, "fsfreeze", "-f", s.HostPath); err != nil {
			return fmt.Errorf("freezing %s for its snapshot: %w", s.MountPoint, err)
		}
		frozen[s.HostPath] = true
	}
	start := time.Now()
	for _, s := range snaps {
		if err := thaw(s); err != nil {
			return err
		}
		c.u.push(c.removeSnapshot(s))
		tctx, cancel := context.WithTimeout(ctx, frozenTimeout)
		err := run(tctx, "lvcreate", "--config", lvmConfig, "-y", "-s", "-n", s.Name,
			"-L", strconv.FormatInt(s.Size, 10)+"b", s.VG+"/"+s.Origin)
		cancel()
		if err != nil {
			return fmt.Errorf("taking snapshot %s/%s of %s: %w", s.VG, s.Name, s.MountPoint, err)
		}
		if err := run(ctx, "fsfreeze", "-f", s.HostPath); err != nil {
			return fmt.Errorf("freezing %s again after its snapshot: %w", s.MountPoint, err)
		}
		frozen[s.HostPath] = true
	}
	together := time.Since(start)
	for i := len(snaps) - 1; i >= 0; i-- {
		if err := thaw(snaps[i]); err != nil {
			return err
		}
	}
	for _, s := range c.Snaps {
		c.r.Note("%s: snapshot %s/%s (%s of copy-on-write room)", s.MountPoint, s.VG, s.Name, humanSize(s.Size))
	}
	c.r.Note("the snapshots were taken within %s, the others frozen meanwhile", together.Round(time.Millisecond))
	return nil
}

// removeSnapshot returns the undo action that removes snapshot s, once.
func (c *run) removeSnapshot(s snapshot) func() error {
	return func() error {
		if c.snapsGone[s.Name] {
			return nil
		}
		if _, err := c.opt.Runner.Run(context.Background(), "lvremove", "--config", lvmConfig, "-y", s.VG+"/"+s.Name); err != nil &&
			!strings.Contains(err.Error(), "Failed to find logical volume") {
			return fmt.Errorf("removing snapshot %s/%s: %w", s.VG, s.Name, err)
		}
		if c.snapsGone == nil {
			c.snapsGone = map[string]bool{}
		}
		c.snapsGone[s.Name] = true
		return nil
	}
}

// dropSnapshots removes the snapshots once the copy is done.
func (c *run) dropSnapshots(ctx context.Context) error {
	for _, s := range c.Snaps {
		if err := c.removeSnapshot(s)(); err != nil {
			return err
		}
		c.r.Note("removed snapshot %s/%s", s.VG, s.Name)
	}
	return nil
}

// snapshotMountData are the options of a snapshot's read-only mount: no
// journal replay, and xfs must accept the origin's UUID twice.
func snapshotMountData(typ string) string {
	switch typ {
	case "xfs":
		return "nouuid"
	case "ext3", "ext4":
		return "noload"
	}
	return ""
}

// pathDepth counts the components of a mount point: / is 0, /var/log 2.
func pathDepth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}

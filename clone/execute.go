package clone

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/clone/copyfs"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/images/artifact"
	"github.com/drd-linux/drd/internal/report"
)

// run is one clone under way: the plan and where things are mounted.
type run struct {
	*Plan
	opt   Options
	r     report.Reporter
	u     undo
	work  string   // <root>/var/opt/drd/mnts
	disk  string   // the target's block device (the loop of an image file)
	dst   []string // where each TargetFS of the clone is mounted
	rec   *bootenv.Record
	start time.Time
	// snapsGone are the snapshots removed already.
	snapsGone map[string]bool
	// imp is the artifact of an import (Import); nil for a clone.
	imp *importRun
}

// execute carries out a plan. On any failure, or when ctx is cancelled,
// the clone's record says broken and every mount and loop is released.
func execute(ctx context.Context, p *Plan, opt Options, r report.Reporter) error {
	return executeRun(ctx, p, opt, r, nil)
}

// executeRun carries out a plan: a clone, or with imp an import.
func executeRun(ctx context.Context, p *Plan, opt Options, r report.Reporter, imp *importRun) (err error) {
	c := &run{Plan: p, opt: opt, r: r, work: filepath.Join(opt.Root, bootenv.MountsDir), start: time.Now(), imp: imp}
	c.dst = make([]string, len(p.FS))
	defer func() {
		if uerr := c.u.run(); uerr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up: %w", uerr))
		}
		c.recordOrigin(err)
	}()
	for _, s := range c.steps() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("clone interrupted: %w", err)
		}
		r.Step("%s", s.what)
		if err := s.do(ctx); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("clone interrupted during %q: %w", strings.ToLower(s.what), ctx.Err())
			}
			return err
		}
	}
	return nil
}

// step is one step of a clone.
type step struct {
	what string
	do   func(context.Context) error
}

// steps are the clone's steps: with snapshots, the copy reads from them
// and needs no second pass.
func (c *run) steps() []step {
	steps := []step{
		{"Recording the start of the clone in the booted image", c.recordStart},
		{"Preparing the target", c.prepareTarget},
		{"Making file systems", c.makeFileSystems},
		{"Mounting the clone", c.mountClone},
	}
	if c.imp != nil && c.imp.ar.Header.Kind != artifact.KindDelta {
		return append(steps,
			step{"Importing the artifact's file systems", c.unpackAll},
			step{"Keeping this host's identity", c.keepHostIdentity},
			step{"Copying the EFI system partition", c.copyESP},
			step{"Fixing up the imported image", c.fixup},
			step{"Making the imported image bootable", c.makeBootable},
			step{"Recording the imported image", c.finish})
	}
	if len(c.Snaps) > 0 {
		steps = append(steps,
			step{"Taking snapshots of the critical logical volumes of " + c.VG.Source, c.takeSnapshots},
			step{"Copying from the snapshots (no second pass needed: they do not change)", c.copyAll},
			step{"Recording what the copy wrote (for drd sync)", c.recordManifest},
			step{"Removing the snapshots", c.dropSnapshots})
	} else {
		if c.VG != nil {
			steps = append(steps, step{"Copying the live file systems: " + c.NoSnaps, c.warnNoSnapshots})
		}
		steps = append(steps,
			step{"Copying", c.copyAll},
			step{"Second pass: copying what changed meanwhile", c.secondPass},
			step{"Recording what the copy wrote (for drd sync)", c.recordManifest})
	}
	if c.imp != nil {
		steps = append(steps,
			step{"Applying the artifact's delta", c.unpackAll},
			step{"Keeping this host's identity", c.keepHostIdentity})
	}
	steps = append(steps,
		step{"Copying the EFI system partition", c.copyESP},
		step{"Fixing up the clone", c.fixup},
		step{"Making the clone bootable", c.makeBootable})
	if c.opt.NoBaseline {
		steps = append(steps, step{"No verify baseline for the clone (-x baseline=false)", c.noBaseline})
	} else {
		steps = append(steps, step{"Verifying the booted image: the clone's starting baseline", c.startBaseline})
	}
	return append(steps, step{"Recording the clone", c.finish})
}

// warnNoSnapshots says that a root on LVM is copied live, in two passes.
func (c *run) warnNoSnapshots(ctx context.Context) error {
	if c.opt.Snapshot == SnapshotNever {
		c.r.Note("no snapshots (-x snapshot=never): the copy reads the live file systems, then a second pass")
		return nil
	}
	c.r.Warn("no snapshots: %s; the copy reads the live file systems in two passes, so files changed meanwhile may be inconsistent", c.NoSnaps)
	return nil
}

// recordStart notes the clone in the booted image's record before anything
// is written on the target: its id (the GPT GUID of the partition that will
// hold its root) and its image file, so that drd status finds the clone
// even if it dies before it writes its own record.
func (c *run) recordStart(ctx context.Context) error {
	c.Origin.History = append(c.Origin.History, bootenv.CloneEvent("started", c.Name+" on "+c.Target.Given, c.ID))
	if c.Target.File != "" {
		bootenv.RegisterImageFile(c.opt.Root, c.Target.File)
	}
	if err := bootenv.WriteRecord(c.opt.Root, c.Origin); err != nil {
		return fmt.Errorf("writing the booted image's record: %w", err)
	}
	return nil
}

// prepareTarget makes the image file and its loop device if needed, then
// writes the partition table and shows the partitions to the kernel.
func (c *run) prepareTarget(ctx context.Context) error {
	c.disk = c.Target.Disk
	if c.Target.File != "" {
		if c.Target.Create {
			f, err := os.OpenFile(c.Target.File, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return fmt.Errorf("creating image file %s: %w", c.Target.File, err)
			}
			f.Close()
		}
		if err := growFile(c.Target.File, c.Target.Size); err != nil {
			return err
		}
		dev, err := images.AttachLoop(c.Target.File, false)
		if err != nil {
			return fmt.Errorf("attaching %s to a loop device: %w", c.Target.File, err)
		}
		c.u.push(func() error { return images.DetachLoop(dev) })
		c.disk = dev
		c.r.Note("image file %s attached at %s", c.Target.File, dev)
	}
	if err := c.removeOldVGs(ctx); err != nil {
		return err
	}
	if err := images.Wipe(c.disk); err != nil {
		return fmt.Errorf("wiping old signatures from %s: %w", c.disk, err)
	}
	parts, err := images.WriteGPT(c.disk, c.Parts)
	if err != nil {
		return fmt.Errorf("writing the partition table of %s: %w", c.disk, err)
	}
	c.Parts = parts
	if err := images.ShowPartitions(c.disk, parts); err != nil {
		return fmt.Errorf("making the partitions of %s visible: %w", c.disk, err)
	}
	if c.Target.File != "" {
		disk := c.disk
		c.u.push(func() error { return images.HidePartitions(disk) })
	}
	for i := range c.FS {
		if c.FS[i].LV == "" {
			c.FS[i].ID.Path = images.PartitionPath(c.disk, c.Parts[c.FS[i].Part].Number)
		}
	}
	if c.VG != nil {
		return c.makeVG(ctx)
	}
	return nil
}

// growFile makes an image file size bytes long, sparse.
func growFile(path string, size int64) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Size() >= size {
		return nil
	}
	if err := os.Truncate(path, size); err != nil {
		return fmt.Errorf("sizing image file %s to %s: %w", path, humanSize(size), err)
	}
	return nil
}

// makeFileSystems makes each file system of the clone like its source.
func (c *run) makeFileSystems(ctx context.Context) error {
	for _, f := range c.FS {
		dev := f.ID.Path
		size := f.Size
		if f.IsESP() {
			if err := images.MakeFAT32(dev, size, f.ID.Label, fatVolumeID(f.ID.UUID)); err != nil {
				return fmt.Errorf("making the ESP on %s: %w", dev, err)
			}
			c.r.Note("%s: FAT32 on %s", f.MountPoint, dev)
			continue
		}
		args, features, err := mkfsArgs(ctx, c.opt.Runner, f, dev, size)
		if err != nil {
			return err
		}
		if _, err := c.opt.Runner.Run(ctx, "mkfs", args...); err != nil {
			return fmt.Errorf("making %s for %s on %s: %w", f.Type, f.MountPoint, dev, err)
		}
		c.r.Note("%s: %s on %s (%s)", f.MountPoint, f.Type, dev, features)
	}
	return nil
}

// fatVolumeID turns "ABCD-1234" into 0xABCD1234.
func fatVolumeID(uuid string) uint32 {
	v, _ := strconv.ParseUint(strings.ReplaceAll(uuid, "-", ""), 16, 32)
	return uint32(v)
}

// mountClone mounts each file system of the clone at its own directory
// (not nested, so that files hidden under a source mount point land in
// the right file system) and writes the clone's record: state cloning.
func (c *run) mountClone(ctx context.Context) error {
	base := filepath.Join(c.work, ".clone-"+c.Name)
	for i, f := range c.FS {
		if f.IsESP() {
			continue
		}
		dir := filepath.Join(base, strconv.Itoa(i))
		if err := mountDev(f.ID.Path, dir, f.Type, 0, &c.u); err != nil {
			return err
		}
		c.dst[i] = dir
		if f.MountPoint == "/" {
			if err := c.startRecord(dir); err != nil {
				return err
			}
		}
	}
	if c.rec == nil {
		return errors.New("the clone has no root file system")
	}
	return nil
}

// startRecord writes the clone's image.json, state cloning, and arranges
// for it to say broken if the clone does not finish.
func (c *run) startRecord(root string) error {
	rec := &bootenv.Record{
		Name: c.Name, ID: c.ID, Created: time.Now().UTC(), Origin: c.Origin.ID, System: c.Origin.System,
		SourceDisk: c.Source.Disk, Target: c.Target.Given, State: bootenv.Cloning,
	}
	for _, s := range c.Source.Critical {
		if s.MountPoint == "/" {
			rec.OriginRoot = s.UUID
		}
	}
	for _, f := range c.FS {
		rec.FileSystems = append(rec.FileSystems, bootenv.FileSystem{
			MountPoint: f.MountPoint, Device: f.ID.Path, Type: f.Type, UUID: f.ID.UUID,
			Label: f.ID.Label, Size: f.Size, Used: f.Used, VG: f.ID.VG, LV: f.ID.LV,
		})
	}
	c.rec = rec
	if err := bootenv.WriteRecord(root, rec); err != nil {
		return fmt.Errorf("writing the clone's record: %w", err)
	}
	c.u.push(func() error {
		if rec.State == bootenv.Complete {
			return nil
		}
		rec.State = bootenv.Broken
		rec.Reason = fmt.Sprintf("the clone to %s failed or was interrupted before the end; run drd clone -t %s -x overwrite=true again", c.Target.Given, c.Target.Given)
		rec.AddEvent("clone", "failed", "interrupted or failed before the end; run drd clone again with -x overwrite=true")
		return bootenv.WriteRecord(root, rec)
	})
	return nil
}

// copyAll copies each critical file system (but the ESP) in mount order.
func (c *run) copyAll(ctx context.Context) error {
	return c.eachFS(ctx, "copying", copyfs.Copy)
}

// secondPass copies what changed in the source during the first pass.
func (c *run) secondPass(ctx context.Context) error {
	return c.eachFS(ctx, "second pass", copyfs.Sync)
}

type copyFunc func(context.Context, string, string, copyfs.Options) (copyfs.Stats, error)

func (c *run) eachFS(ctx context.Context, what string, copyOne copyFunc) error {
	var totalBytes, totalEntries, doneBytes, doneEntries int64
	for _, f := range c.FS {
		totalBytes += f.Used
		totalEntries += f.Inodes
	}
	start := time.Now()
	for i, f := range c.FS {
		if f.IsESP() {
			continue
		}
		src, release, err := c.source(i)
		if err != nil {
			return err
		}
		opt := copyfs.Options{
			Exclude: copyExcludes(f.MountPoint, c.excludes(), mountPoints(c.FS)),
			Logf:    c.r.Note,
			Progress: func(s copyfs.Stats) {
				c.r.Progress(report.Progress{What: what + " " + f.MountPoint,
					Bytes: doneBytes + s.Bytes, Total: totalBytes,
					Entries: doneEntries + s.Entries, TotalEntries: totalEntries,
					Elapsed: time.Since(start)})
			},
		}
		st, err := copyOne(ctx, src, c.dst[i], opt)
		release()
		if err != nil {
			return fmt.Errorf("%s %s (%s) to %s: %w", what, f.MountPoint, f.Src.Device, f.ID.Path, err)
		}
		doneBytes += st.Bytes
		doneEntries += st.Entries
		if what == "second pass" {
			c.r.Note("%s: the second pass caught %d changed entries (%d removed)", f.MountPoint, st.Entries, st.Removed)
		} else {
			c.r.Note("%s: %d entries, %s", f.MountPoint, st.Entries, humanSize(st.Bytes))
		}
	}
	return nil
}

// source makes file system i of the source visible, alone and read-only,
// and returns where, with the function that releases it.
func (c *run) source(i int) (string, func(), error) {
	f := c.FS[i]
	dir := filepath.Join(c.work, ".source-"+c.Name, strconv.Itoa(i))
	var u undo
	var err error
	if s, ok := c.snapshotFor(f); ok {
		err = mountDevData(s.device(), dir, f.Type, unix.MS_RDONLY, snapshotMountData(f.Type), &u)
	} else if f.Src.Mounted() {
		err = bindReadOnly(f.Src.HostPath, dir, &u)
	} else {
		err = mountDev(f.Src.Device, dir, f.Type, unix.MS_RDONLY|unix.MS_NOATIME, &u)
	}
	release := func() {
		if e := u.run(); e != nil {
			c.r.Warn("%v", e)
		}
	}
	if err != nil {
		release()
		return "", nil, err
	}
	return dir, release, nil
}

// excludes are the image paths whose contents are never copied: the
// administrator's, drd's own mount points and records, and an image-file
// target that lies inside the image.
func (c *run) excludes() []string {
	ex := append([]string{bootenv.MountsDir, bootenv.RecordPath}, c.opt.Exclude...)
	if c.Target.File != "" {
		if rel, ok := inside(c.opt.Root, c.Target.File); ok {
			ex = append(ex, rel)
		}
	}
	return ex
}

// copyESP copies the source's ESP with go-diskfs, mounted or not.
func (c *run) copyESP(ctx context.Context) error {
	for _, f := range c.FS {
		if !f.IsESP() || f.Src.Device == "" {
			continue
		}
		n, err := images.CopyFAT(ctx, f.Src.Device, f.ID.Path)
		if err != nil {
			return fmt.Errorf("copying the ESP %s to %s: %w", f.Src.Device, f.ID.Path, err)
		}
		c.r.Note("%s: %d files", f.MountPoint, n)
	}
	return nil
}

// fixup points the clone's fstab and crypttab at the clone's devices.
func (c *run) fixup(ctx context.Context) error {
	var renames []rename
	for _, f := range c.FS {
		if f.Src.Device != "" {
			renames = append(renames, rename{old: f.Src.Dev.ID, new: f.ID})
		}
	}
	root := c.dst[c.rootIndex()]
	for _, t := range []struct {
		file  string
		field int
	}{{"etc/fstab", 0}, {"etc/crypttab", 1}} {
		p := filepath.Join(root, t.file)
		old, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		text, n, err := rewriteDevices(old, t.field, renames)
		if err != nil {
			return fmt.Errorf("rewriting the clone's /%s: %w", t.file, err)
		}
		if err := writeLike(p, text); err != nil {
			return err
		}
		c.r.Note("/%s: %d entries now name the clone's devices", t.file, n)
	}
	if err := c.fixGrubInstallDevices(); err != nil {
		return fmt.Errorf("pointing the clone's grub-pc at its disk: %w", err)
	}
	for _, f := range c.FS {
		if bootenv.ParseDevSpec(f.Src.Spec).Kind == "PATH" && f.Src.Spec != "" {
			c.r.Warn("the fstab names %s by device path %s; the clone's says %s, which changes if disks are renumbered: prefer UUID=", f.MountPoint, f.Src.Spec, f.ID.Path)
		}
	}
	return nil
}

// writeLike replaces a file's contents atomically, keeping its mode and
// owner, and the times of its directory as the copy left them.
func writeLike(p string, data []byte) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	var dir unix.Stat_t
	if err := unix.Stat(filepath.Dir(p), &dir); err != nil {
		return err
	}
	if err := bootenv.WriteFileAtomic(p, data, st.Mode().Perm()); err != nil {
		return err
	}
	if s, ok := st.Sys().(*unix.Stat_t); ok {
		if err := os.Lchown(p, int(s.Uid), int(s.Gid)); err != nil {
			return err
		}
	}
	return unix.UtimesNano(filepath.Dir(p), []unix.Timespec{dir.Atim, dir.Mtim})
}

// finish syncs the clone's file systems and marks it complete: the very
// last write of the clone.
func (c *run) finish(ctx context.Context) error {
	for i, d := range c.dst {
		if d == "" {
			continue
		}
		if err := copyfs.SyncFS(d); err != nil {
			return fmt.Errorf("syncing %s of the clone: %w", c.FS[i].MountPoint, err)
		}
	}
	c.rec.State = bootenv.Complete
	c.rec.LastSync = time.Now().UTC()
	if c.imp != nil {
		c.rec.AddEvent("import", "succeeded", c.importEvent())
	} else {
		c.rec.AddEvent("clone", "succeeded", fmt.Sprintf("from %s to %s in %s", c.Source.Disk, c.Target.Given, time.Since(c.start).Round(time.Second)))
	}
	root := c.dst[c.rootIndex()]
	if err := bootenv.WriteRecord(root, c.rec); err != nil {
		c.rec.State = bootenv.Cloning
		return fmt.Errorf("writing the clone's record: %w", err)
	}
	return copyfs.SyncFS(root)
}

// recordOrigin notes the clone in the booted image's own record.
func (c *run) recordOrigin(err error) {
	o := c.Origin
	if len(o.FileSystems) == 0 {
		for _, s := range c.Source.Critical {
			o.FileSystems = append(o.FileSystems, s.FileSystem)
		}
	}
	result, detail := "succeeded", c.Name+" on "+c.Target.Given
	if err != nil {
		result, detail = "failed", detail+": "+err.Error()
	}
	o.History = append(o.History, bootenv.CloneEvent(result, detail, c.ID))
	if werr := bootenv.WriteRecord(c.opt.Root, o); werr != nil {
		c.r.Warn("could not update the booted image's record: %v", werr)
	}
}

func (c *run) rootIndex() int {
	for i, f := range c.FS {
		if f.MountPoint == "/" {
			return i
		}
	}
	return 0
}

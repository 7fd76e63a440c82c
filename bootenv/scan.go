package bootenv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv/efi"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/lock"
	"github.com/drd-linux/drd/internal/mount"
)

// Machine says where the system facts are read: the image's root and the
// kernel's /sys and /proc. Tests point SysDir and ProcDir elsewhere.
type Machine struct {
	Root, SysDir, ProcDir string
	EFI                   efi.Vars       // the firmware's UEFI variables; nil: none written (BIOS, or not this machine's)
	Runner                execrun.Runner // LVM's tools; nil: the real ones
	Mapper                Mapper         // rescue mode's device-mapper (no LVM tools); nil: no LV made
}

// Real is the machine drd runs on, with the image's root at root. It
// has no UEFI variables: only a command's main gives them (Machine.EFI),
// for the firmware whose choice it may change.
func Real(root string) Machine {
	if root == "" {
		root = "/"
	}
	return Machine{Root: root, SysDir: "/sys", ProcDir: "/proc"}
}

// DiscoverBooted finds the critical and shared file systems of the image
// whose root is at m.Root, with their used space.
func (m Machine) DiscoverBooted(ctx context.Context) (*Layout, error) {
	mounts, err := ReadMountinfo(m.ProcDir)
	if err != nil {
		return nil, err
	}
	var fstab []FstabEntry
	data, err := os.ReadFile(filepath.Join(m.Root, "etc/fstab"))
	switch {
	case err == nil:
		if fstab, err = ParseFstab(data); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(m.Root, "etc/fstab"), err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	devs, _, err := m.devices(ctx)
	if err != nil {
		return nil, err
	}
	l, err := Discover(m.Root, mounts, fstab, devs)
	if err != nil {
		return nil, err
	}
	for i, c := range l.Critical {
		if !c.Mounted() {
			continue
		}
		var st unix.Statfs_t
		if err := unix.Statfs(c.HostPath, &st); err == nil {
			l.Critical[i].Used = int64(st.Blocks-st.Bfree) * int64(st.Bsize)
		}
	}
	return l, nil
}

// Scan finds every image: the booted one at root and the ones on other
// block devices and image files drd made.
func Scan(ctx context.Context, root string) (*Status, error) {
	return Real(root).Scan(ctx)
}

// rootPartName matches the GPT name of a clone's root partition.
var rootPartName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^drd-(sysimage_\d{3})-root$`) })

// rootLabel matches the file-system label of a clone's root (on an LV).
var rootLabel = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^drd\d{3}-root$`) })

// Scan finds every image of the machine.
func (m Machine) Scan(ctx context.Context) (*Status, error) {
	l, err := m.DiscoverBooted(ctx)
	if err != nil {
		return nil, err
	}
	rec, err := BootedRecord(m.Root)
	if err != nil {
		return nil, err
	}
	booted := &Image{Record: *rec, Disk: l.Disk, Booted: true}
	booted.FileSystems = nil
	for _, c := range l.Critical {
		booted.FileSystems = append(booted.FileSystems, c.FileSystem)
	}
	st := &Status{Booted: booted, Images: []*Image{booted}, Activated: booted.Name}

	devs, lvm, err := m.devices(ctx)
	if err != nil {
		return nil, err
	}
	release, attachedFiles, err := m.attachImageFiles(devs)
	defer release()
	if err != nil {
		return nil, err
	}
	if len(attachedFiles) > 0 {
		if devs, lvm, err = m.devices(ctx); err != nil {
			return nil, err
		}
	}
	vgs := CloneVGs(devs, lvm)
	look := slices.Clone(vgs)
	for _, vg := range OriginVGs(devs, lvm, rec.OriginRoot) {
		if !slices.Contains(look, vg) {
			look = append(look, vg)
		}
	}
	deactivate, activated, err := m.activateWhileLooking(ctx, look, lvm)
	defer deactivate()
	if err != nil {
		return nil, err
	}
	if activated > 0 {
		if devs, _, err = m.devices(ctx); err != nil {
			return nil, err
		}
	}
	mounts, _ := ReadMountinfo(m.ProcDir)
	held := lockHeld(m.Root)
	started := startedClones(rec)
	var unread []BlockDev // drd's devices that could not be read
	for _, d := range devs {
		bootedRoot := len(l.Critical) > 0 && d.Path == l.Critical[0].Device
		isClone := rootPartName().MatchString(d.ID.PartLabel) ||
			(slices.Contains(vgs, d.ID.VG) && rootLabel().MatchString(d.ID.Label))
		isOrigin := rec.OriginRoot != "" && d.ID.UUID == rec.OriginRoot
		if bootedRoot || !(isClone || isOrigin) || d.FSType == "" {
			continue // not an image, or no file system yet (unrecordedClones)
		}
		img, err := m.readImage(ctx, d, mounts)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENXIO) {
			continue // the device went away while we looked (a loop detached)
		}
		if e, ok := started[d.ID.PartUUID]; ok && err != nil && e.Result != "succeeded" {
			continue // a clone's half-made root: unrecordedClones lists it
		}
		if err != nil {
			// One device that cannot be read hides no other image; a
			// clone that was finished is not taken for a half-made one.
			st.Problems = append(st.Problems, unreadable(d, devs.backingFileOf(d.Disk), err))
			unread = append(unread, d)
			continue
		}
		if img.ID == "" || (img.System != rec.System && img.ID != rec.Origin) {
			continue // an image of another system, or one not yet recorded
		}
		if slices.ContainsFunc(st.Images, func(o *Image) bool { return o.ID == img.ID }) {
			continue // seen already: an image file attached to two loop devices shows it twice
		}
		settleState(img, held)
		img.ImageFile = devs.backingFileOf(d.Disk)
		st.Images = append(st.Images, img)
	}
	for _, img := range unrecordedClones(devs, rec, st.Images, held) {
		if !slices.ContainsFunc(unread, func(d BlockDev) bool { return d.ID.PartUUID == img.ID || d.Disk == img.Disk }) {
			st.Images = append(st.Images, img)
		}
	}
	for _, img := range st.Images[1:] {
		devicesNow(img, devs, attachedFiles)
	}
	st.Missing = missingClones(rec, st.Images, st.Problems)
	sort.SliceStable(st.Images[1:], func(i, j int) bool { return st.Images[1+i].Name < st.Images[1+j].Name })
	for _, img := range st.Images {
		if img.State == Activated {
			st.Activated = img.Name
		}
	}
	if st.Boot, err = m.readBootStates(st); err != nil {
		return nil, err
	}
	if st.Boot != nil {
		st.Activated = st.Boot.Target()
	}
	return st, nil
}

// unreadable is the problem of a device that drd's names call an image
// but whose image the scan could not read (a damaged file system, a
// disk that fails): file is its image file, if any.
func unreadable(d BlockDev, file string, err error) Problem {
	p := Problem{Kind: Unreadable, Device: d.Path, Disk: d.Disk, File: file, Why: err.Error()}
	by := ""
	if m := rootPartName().FindStringSubmatch(d.ID.PartLabel); m != nil {
		p.Image, by = m[1], " by its partition name"
	} else if rootLabel().MatchString(d.ID.Label) {
		p.Image, by = "sysimage_"+d.ID.Label[3:6], " by its label"
	}
	where := d.Path
	if file != "" {
		where = file + " via " + d.Path
	}
	p.What = where
	if p.Image != "" {
		p.What += " (" + p.Image + by + ")"
	}
	p.Action = fmt.Sprintf("check the file system (fsck -n %s) and the kernel's messages (dmesg); "+
		"drd lists the image again once it can be read; a clone you no longer need can be wiped (wipefs -a %s) or made again with drd clone", d.Path, d.Path)
	return p
}

// devicesNow puts in img where its file systems are now, as devs (the
// scan) found them by UUID: the device names of its record are those of
// clone time (a loop number since reused, a /dev/sdX that moved). A file
// system on none of them, or on a loop device the scan attached only
// while it looked (scanLoops), has no device; nor has the image a disk
// when the scan attached its image file. A logical volume keeps its
// name (/dev/VG/LV), which does not change.
func devicesNow(img *Image, devs DeviceTable, scanLoops []string) {
	if slices.Contains(scanLoops, img.Disk) {
		img.Disk = ""
	}
	fss := slices.Clone(img.FileSystems)
	for i, f := range fss {
		if f.VG != "" {
			continue
		}
		fss[i].Device = ""
		if f.UUID == "" {
			continue
		}
		if d, ok := devs.BySpec("UUID=" + f.UUID); ok && !slices.Contains(scanLoops, d.Disk) {
			fss[i].Device = d.Path
		}
	}
	img.FileSystems = fss
}

// missingClones are the clones the booted image's history says were made
// (the last clone event of each succeeded) that the scan did not find,
// neither by id nor on their target, and that were not deleted since:
// their disk or image file is gone or was overwritten by something else.
func missingClones(booted *Record, found []*Image, problems []Problem) []*Image {
	last := map[string]Event{}
	var order []string
	for _, e := range booted.History {
		if e.Image == "" || (e.Action != "clone" && e.Action != "delete") {
			continue
		}
		if _, ok := last[e.Image]; !ok {
			order = append(order, e.Image)
		}
		last[e.Image] = e
	}
	byTarget := map[string]string{} // target -> the id of the last clone made to it
	for _, id := range order {
		if e := last[id]; e.Action == "clone" && e.Result == "succeeded" {
			_, target, _ := strings.Cut(e.Detail, " on ")
			byTarget[target] = id
		}
	}
	var out []*Image
	for _, id := range order {
		e := last[id]
		name, target, _ := strings.Cut(e.Detail, " on ")
		if e.Action != "clone" || e.Result != "succeeded" || byTarget[target] != id {
			continue // failed, deleted, or its target was cloned to again
		}
		if slices.ContainsFunc(found, func(img *Image) bool {
			return img.ID == id || (img.Target != "" && img.Target == target) || img.ImageFile == target
		}) {
			continue
		}
		if slices.ContainsFunc(problems, func(p Problem) bool {
			return p.Kind == Unreadable && (p.Image == name || p.File == target || p.Disk == target)
		}) {
			continue // there, but unreadable: a problem of the scan says so
		}
		why := fmt.Sprintf("no disk shows it: %s was replaced, wiped or is not attached", target)
		if !strings.HasPrefix(target, "/dev/") {
			why = fmt.Sprintf("its image file %s is gone", target)
			if _, err := os.Stat(target); err == nil {
				why = fmt.Sprintf("its image file %s holds no image of this system now", target)
			}
		}
		out = append(out, &Image{
			Record:  Record{Name: name, ID: id, Created: e.Time, Origin: booted.ID, System: booted.System, Target: target},
			Missing: why + "; if it is gone for good, drd forget " + name + " removes its records",
		})
	}
	return out
}

// settleState turns an image whose clone or runcmd died without a word
// (kill -9, power loss: its record says cloning or modifying, and no drd
// holds the lock) into a broken one, and gives every broken image a
// reason: why, and what to run.
func settleState(img *Image, held bool) {
	if (img.State == Cloning || img.State == Modifying) && !held {
		img.Reason = diedReason(img)
		img.State = Broken
	}
	if img.State == Broken && img.Reason == "" {
		img.Reason = brokenReason(img) // a record that names no reason: from its history
	}
}

// diedReason says what to do with an image whose clone or runcmd died.
func diedReason(img *Image) string {
	if img.State == Modifying {
		return "a drd runcmd was interrupted while it changed the image; run the command again to finish its work, or clone again with drd clone -x overwrite=true"
	}
	return fmt.Sprintf("the clone to %s was interrupted; run drd clone -t %s -x overwrite=true again", img.Target, img.Target)
}

// brokenReason says why a broken image whose record gives no reason is
// broken, from its last failed event, and what to run.
func brokenReason(img *Image) string {
	target := img.Target
	if target == "" {
		target = img.Disk
	}
	again := fmt.Sprintf("run drd clone -t %s -x overwrite=true again", target)
	for i := len(img.History) - 1; i >= 0; i-- {
		e := img.History[i]
		if e.Result != "failed" && e.Result != "interrupted" {
			continue
		}
		switch e.Action {
		case "scan":
			return fmt.Sprintf("%s; it is not a whole image: %s", e.Detail, again)
		case "clone":
			return fmt.Sprintf("the clone to %s %s (%s); %s", target, e.Result, e.Detail, again)
		case "runcmd":
			return fmt.Sprintf("drd runcmd %s %s while it changed the image; run the command again to finish its work, or %s", e.Detail, e.Result, again)
		}
		return fmt.Sprintf("%s %s (%s); %s", e.Action, e.Result, e.Detail, again)
	}
	return "no reason recorded; " + again
}

// readImage reads the record of the image whose root file system is on d,
// from where it is mounted or from a private read-only mount.
func (m Machine) readImage(ctx context.Context, d BlockDev, mounts []MountInfo) (*Image, error) {
	img := &Image{Disk: d.Disk}
	read := func(dir string) error {
		rec, err := ReadRecord(dir)
		if errors.Is(err, fs.ErrNotExist) {
			rec = &Record{Name: "unknown", State: Broken}
			rec.AddEvent("scan", "failed", "no "+RecordPath+" in its root file system")
		} else if err != nil {
			return err
		}
		img.Record = *rec
		return nil
	}
	for _, mi := range mounts {
		if mi.Major == d.Major && mi.Minor == d.Minor && mi.FSRoot == "/" {
			return img, read(mi.MountPoint)
		}
	}
	// First through a read-only loop device of its own, without journal
	// replay: a mount of the device itself would make a clone that is
	// about to mount it fail (EBUSY), and a loop device is another block
	// device to the kernel. A file system whose journal holds changes (an
	// image that was booted and not shut down cleanly) reads inconsistent
	// that way: then mount the device read-only, which replays the journal.
	err := withLoopMount(d, read)
	if err != nil {
		if err2 := withMount(d.Path, d.FSType, "", read); err2 == nil {
			return img, nil
		}
		return nil, err
	}
	return img, nil
}

// withLoopMount mounts d read-only through a loop device and calls f.
func withLoopMount(d BlockDev, f func(dir string) error) error {
	loop, err := images.AttachLoop(d.Path, true)
	if err != nil {
		return fmt.Errorf("reading %s: %w", d.Path, err)
	}
	defer images.DetachLoop(loop)
	if err := withMount(loop, d.FSType, readOnlyData(d.FSType), f); err != nil {
		return fmt.Errorf("reading %s (through %s): %w", d.Path, loop, err)
	}
	return nil
}

// withMount mounts dev read-only at a private temporary directory, calls
// f with it and unmounts.
func withMount(dev, fsType, data string, f func(dir string) error) error {
	return mount.With(mount.Spec{Source: dev, Type: fsType, Flags: mount.ReadOnly, Data: data, Pattern: "drd-scan-"}, f)
}

// readOnlyData keeps a read-only mount from writing: no journal replay.
func readOnlyData(fsType string) string {
	switch fsType {
	case "ext3", "ext4":
		return "noload"
	case "xfs":
		return "norecovery,nouuid"
	}
	return ""
}

// lockHeld reports whether a drd command holds the lock of root now.
func lockHeld(root string) bool {
	f, err := os.Open(lock.Path(root))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return true
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}

// attachImageFiles attaches, read-only, every registered image file whose
// partitions no loop device shows (not attached, or attached by losetup
// without -P), so that its images are found like any disk's. The
// function it returns detaches them again.
func (m Machine) attachImageFiles(devs DeviceTable) (func(), []string, error) {
	var loops []string
	release := func() {
		for _, l := range loops {
			images.DetachLoop(l)
		}
	}
	for _, f := range ImageFiles(m.Root) {
		if devs.partitionsOfFile(f) {
			continue // attached with its partitions (drd mount, or losetup -P)
		}
		parts, err := images.ReadGPT(f)
		if err != nil {
			continue // not (or no longer) a disk image drd made
		}
		dev, err := images.AttachLoop(f, true)
		if err != nil {
			return release, loops, fmt.Errorf("attaching image file %s: %w", f, err)
		}
		loops = append(loops, dev)
		if err := images.ShowPartitions(dev, parts); err != nil {
			return release, loops, fmt.Errorf("showing the partitions of %s (%s): %w", f, dev, err)
		}
	}
	return release, loops, nil
}

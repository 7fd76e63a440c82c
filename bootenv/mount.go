package bootenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/mount"
	"github.com/drd-linux/drd/internal/report"
)

// Mount mounts the inactive image name ("" for the only inactive one) under
// root's /var/opt/drd/mnts/<name> and returns that directory.
func Mount(ctx context.Context, root, name string, r report.Reporter) (string, error) {
	return Real(root).Mount(ctx, name, r)
}

// Umount unmounts what Mount mounted, in reverse order, and detaches loops.
func Umount(ctx context.Context, root, name string, r report.Reporter) error {
	return Real(root).Umount(ctx, name, r)
}

// Inactive picks an inactive image of st by its name, or by its disk,
// image file or id (two images of the same name, made by an older drd,
// are told apart that way), or the only inactive one when name is "".
// An error lists the images to choose from, and the devices that look
// like images but could not be read; while there are such devices, the
// one inactive image that could be read is not taken without its name.
func (st *Status) Inactive(name string) (*Image, error) {
	var inactive, matches []*Image
	for _, img := range st.Images {
		is := name != "" && (img.Name == name || img.Disk == name || img.ImageFile == name || img.ID == name)
		if img.Booted {
			if is {
				return nil, fmt.Errorf("%s is the booted image: it is mounted at %s already", name, st.Booted.FileSystems[0].MountPoint)
			}
			continue
		}
		inactive = append(inactive, img)
		if is {
			matches = append(matches, img)
		}
	}
	unread := st.unreadable()
	switch {
	case len(inactive) == 0 && unread != "":
		return nil, fmt.Errorf("there is no inactive image drd can read: %s", unread)
	case len(inactive) == 0:
		return nil, errors.New("there is no inactive image: make one with drd clone -t DISK")
	case name == "" && len(inactive) == 1 && unread != "":
		return nil, fmt.Errorf("the only inactive image drd can read is %s, but %s; name the image", choices(inactive), unread)
	case name == "" && len(inactive) == 1:
		return inactive[0], nil
	case name == "":
		return nil, fmt.Errorf("there are several inactive images: %s; name one", choices(inactive))
	case len(matches) == 1:
		return matches[0], nil
	case len(matches) > 1:
		return nil, fmt.Errorf("several images are called %s: %s; name one by its disk or image file", name, choices(matches))
	}
	if unread != "" {
		return nil, fmt.Errorf("no image %s; the inactive images are %s; %s", name, choices(inactive), unread)
	}
	return nil, fmt.Errorf("no image %s; the inactive images are %s", name, choices(inactive))
}

// unreadable says which devices look like images but could not be read
// ("" for none).
func (st *Status) unreadable() string {
	var what []string
	for _, p := range st.Problems {
		if p.Kind == Unreadable {
			what = append(what, p.What)
		}
	}
	if len(what) == 0 {
		return ""
	}
	return strings.Join(what, ", ") + " could not be read (drd status says why)"
}

// choices lists images to choose from: "sysimage_001 (on /dev/vdb)".
// An image whose name another one shares is named by where it lives.
func choices(imgs []*Image) string {
	count := map[string]int{}
	for _, img := range imgs {
		count[img.Name]++
	}
	var out []string
	for _, img := range imgs {
		where := img.ImageFile
		if where == "" {
			where = img.Disk
		}
		switch {
		case count[img.Name] > 1 && where != "":
			out = append(out, where+" ("+img.Name+")")
		case where != "":
			out = append(out, img.Name+" (on "+where+")")
		default:
			out = append(out, img.Name)
		}
	}
	return strings.Join(out, ", ")
}

// MountDir is where image name is mounted under root.
func MountDir(root, name string) string { return filepath.Join(root, MountsDir, name) }

// Mount mounts every critical file system of an inactive image, parents
// first, under /var/opt/drd/mnts/<name>.
func (m Machine) Mount(ctx context.Context, name string, r report.Reporter) (string, error) {
	return m.mount(ctx, name, false, r)
}

// MountReadOnly is Mount with every file system read-only: nothing of the
// image is written, not even a journal replayed (drd sync -p).
func (m Machine) MountReadOnly(ctx context.Context, name string, r report.Reporter) (string, error) {
	return m.mount(ctx, name, true, r)
}

func (m Machine) mount(ctx context.Context, name string, readOnly bool, r report.Reporter) (string, error) {
	st, err := m.Scan(ctx)
	if err != nil {
		return "", err
	}
	img, err := st.Inactive(name)
	if err != nil {
		return "", err
	}
	return m.MountImage(ctx, img, readOnly, r)
}

// MountImage mounts img, an inactive image of a scan the caller made,
// with its critical file systems under drd's mount directory, read-only
// (nothing written, not even a journal replayed) if readOnly: Mount
// without a second scan.
func (m Machine) MountImage(ctx context.Context, img *Image, readOnly bool, r report.Reporter) (string, error) {
	return m.mountImageAt(ctx, img, MountDir(m.Root, img.Name), readOnly, r)
}

// mountImageAt mounts img's critical file systems, parents first, at dir.
func (m Machine) mountImageAt(ctx context.Context, img *Image, dir string, readOnly bool, r report.Reporter) (string, error) {
	mounts, err := ReadMountinfo(m.ProcDir)
	if err != nil {
		return "", err
	}
	if len(MountsUnder(mounts, dir)) > 0 {
		r.Step("%s is mounted at %s already", img.Name, dir)
		return dir, nil
	}
	if img.State == Broken || img.State == Cloning {
		r.Warn("%s is %s: its contents may be incomplete", img.Name, img.State)
	}
	// What this call attached and activated it undoes when a later step
	// fails (a mount refused, busy or of a bad file system, a volume group
	// that does not activate): a failed drd mount leaves no loop device
	// of its own behind. One attached before (by an earlier drd mount,
	// or the administrator's) is not this call's to detach.
	var attached string
	var activated []string
	var done []mounted
	fail := func(err error) (string, error) {
		return "", errors.Join(err, m.undoMount(context.WithoutCancel(ctx), done, activated, attached))
	}
	if (img.ImageFile != "" || img.Disk == "") && !m.ownWritableLoop(img) {
		// Scan attached the file only while it looked; attach it for good.
		if err := m.attachForMount(img); err != nil {
			return "", err
		}
		attached = img.Disk
	}
	for _, vg := range imageVGs(img.FileSystems) {
		if err := m.ActivateVG(ctx, vg); err != nil {
			return fail(fmt.Errorf("mounting %s: %w", img.Name, err))
		}
		activated = append(activated, vg)
		r.Note("volume group %s activated", vg)
	}
	devs, _, err := m.devices(ctx)
	if err != nil {
		return fail(err)
	}
	fss := append([]FileSystem(nil), img.FileSystems...)
	sort.SliceStable(fss, func(i, j int) bool { return depth(fss[i].MountPoint) < depth(fss[j].MountPoint) })
	r.Step("Mounting %s at %s", img.Name, dir)
	for _, f := range fss {
		d, ok := devs.BySpec("UUID=" + f.UUID)
		if !ok {
			return fail(fmt.Errorf("%s of %s (UUID=%s) is on no block device: is its disk attached?", f.MountPoint, img.Name, f.UUID))
		}
		at := filepath.Join(dir, f.MountPoint)
		if err := os.MkdirAll(at, 0o755); err != nil {
			return fail(fmt.Errorf("making the mount point of %s of %s: %w: remove what is in the way", f.MountPoint, img.Name, err))
		}
		var flags uintptr
		var data string
		if readOnly {
			flags, data = unix.MS_RDONLY, readOnlyData(f.Type)
		}
		unmount, err := mount.At(mount.Spec{Source: d.Path, Type: f.Type, Flags: flags, Data: data}, at)
		if errors.Is(err, unix.ENODEV) && f.Type == "vfat" {
			r.Note("%s (%s) not mounted: the running kernel has no vfat", f.MountPoint, d.Path)
			continue
		}
		if err != nil {
			return fail(fmt.Errorf("mounting %s of %s: %w%s", f.MountPoint, img.Name, err, mountHint(err)))
		}
		done = append(done, mounted{at, unmount})
		r.Note("%-10s %s", f.MountPoint, d.Path)
	}
	return dir, nil
}

// mountHint says what to do about a mount that failed with err.
func mountHint(err error) string {
	switch {
	case errors.Is(err, unix.EBUSY):
		return ": another program has the device open; run drd mount again when it lets go"
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.EBADMSG), errors.Is(err, unix.EUCLEAN):
		return ": the file system is damaged or of a kind this kernel cannot mount; check it (fsck), or clone the image again"
	}
	return ""
}

// mounted is one file system a Mount mounted: where, and how to unmount
// it (mount.At's).
type mounted struct {
	at      string
	unmount func() error
}

// undoMount undoes what a Mount that failed half-way did: it unmounts
// what it mounted, and when the Mount attached the image's file itself
// (loop, not ""), deactivates the volume groups it activated on it and
// detaches the loop device. It goes on past a failure and reports every
// one.
func (m Machine) undoMount(ctx context.Context, done []mounted, vgs []string, loop string) error {
	errs := []error{unmountAll(done)}
	if loop == "" {
		return errors.Join(errs...)
	}
	for i := len(vgs) - 1; i >= 0; i-- {
		if err := m.DeactivateVG(ctx, vgs[i]); err != nil {
			errs = append(errs, fmt.Errorf("volume group %s stays active (%w): deactivate it with vgchange -an %s", vgs[i], err, vgs[i]))
		}
	}
	if images.AttachedByDrd(loop) {
		if err := images.DetachLoop(loop); err != nil {
			errs = append(errs, err) // says that the kernel detaches it once its holder lets go
		}
	}
	return errors.Join(errs...)
}

// unmountAll undoes a Mount that failed half-way: it unmounts what it
// mounted in reverse order, goes on past a failure and reports every one.
func unmountAll(done []mounted) error {
	var errs []error
	for i := len(done) - 1; i >= 0; i-- {
		if err := done[i].unmount(); err != nil {
			errs = append(errs, fmt.Errorf("%s is still mounted (%w): unmount it with drd umount", done[i].at, err))
		}
	}
	return errors.Join(errs...)
}

// ownWritableLoop tells whether img's file is attached already, with its
// partitions, at a writable loop device drd attached (left by a drd mount
// whose umount could not detach it): the mount uses it rather than attach
// the file a second time, and drd umount detaches it.
func (m Machine) ownWritableLoop(img *Image) bool {
	if img.ImageFile == "" || img.Disk == "" || !images.AttachedByDrd(img.Disk) {
		return false
	}
	d, err := images.DeviceByPath(m.SysDir, img.Disk)
	return err == nil && !d.ReadOnly && d.BackingFile == img.ImageFile
}

// attachForMount attaches an image's file read-write with its partitions.
func (m Machine) attachForMount(img *Image) error {
	for _, f := range ImageFiles(m.Root) {
		parts, err := images.ReadGPT(f)
		if err != nil {
			continue
		}
		dev, err := images.AttachLoop(f, false)
		if err != nil {
			return err
		}
		if err := images.ShowPartitions(dev, parts); err != nil {
			images.DetachLoop(dev)
			return err
		}
		devs, err := ReadDevices(m.SysDir)
		if err == nil {
			if _, ok := devs.BySpec("UUID=" + img.FileSystems[0].UUID); ok {
				img.Disk, img.ImageFile = dev, f
				return nil
			}
		}
		images.DetachLoop(dev)
	}
	return fmt.Errorf("no image file holds %s: is the file registered in %s still there?", img.Name, ImageFilesPath)
}

// Umount unmounts an image mounted by Mount, children first, and detaches
// the loop device of an image file.
func (m Machine) Umount(ctx context.Context, name string, r report.Reporter) error {
	mounts, err := ReadMountinfo(m.ProcDir)
	if err != nil {
		return err
	}
	if name == "" {
		names := mountedImages(mounts, filepath.Join(m.Root, MountsDir))
		switch len(names) {
		case 0:
			return errors.New("no image is mounted under " + filepath.Join(m.Root, MountsDir))
		case 1:
			name = names[0]
		default:
			return fmt.Errorf("several images are mounted (%s): name one", strings.Join(names, ", "))
		}
	}
	return m.umountAt(ctx, name, MountDir(m.Root, name), mounts, r)
}

// umountAt unmounts image name from dir, children first, and detaches
// the loop device of an image file.
func (m Machine) umountAt(ctx context.Context, name, dir string, mounts []MountInfo, r report.Reporter) error {
	under := MountsUnder(mounts, dir)
	if len(under) == 0 {
		return fmt.Errorf("%s is not mounted at %s", name, dir)
	}
	r.Step("Unmounting %s from %s", name, dir)
	var disks, vgs []string
	devs, _, _ := m.devices(ctx)
	for i := len(under) - 1; i >= 0; i-- {
		if d, ok := devs.ByNumber(under[i].Major, under[i].Minor); ok && d.ID.VG != "" && !slices.Contains(vgs, d.ID.VG) {
			vgs = append(vgs, d.ID.VG)
		}
		at := filepath.Join(dir, under[i].MountPoint)
		if err := mount.Unmount(at); err != nil {
			if errors.Is(err, unix.EBUSY) {
				return fmt.Errorf("%s is busy: %s; stop them (or leave the directory) and run drd umount again", at, strings.Join(Holders(m.ProcDir, at), "; "))
			}
			return err
		}
		r.Note("unmounted %s", at)
		if d, err := images.DeviceByNumber(m.SysDir, under[i].Major, under[i].Minor); err == nil {
			disks = append(disks, "/dev/"+d.Disk)
		}
	}
	for _, vg := range vgs {
		if err := m.DeactivateVG(ctx, vg); err != nil {
			return fmt.Errorf("%s is unmounted, but: %w", name, err)
		}
		r.Note("volume group %s deactivated", vg)
	}
	for _, disk := range disks {
		d, err := images.DeviceByPath(m.SysDir, disk)
		if err != nil || d.BackingFile == "" || !isImageFile(m.Root, d.BackingFile) || !images.AttachedByDrd(disk) {
			continue
		}
		if err := images.DetachLoop(disk); err == nil {
			r.Note("detached %s (%s)", disk, d.BackingFile)
		}
	}
	return nil
}

// imageVGs lists the volume groups an image's file systems live in.
func imageVGs(fss []FileSystem) []string {
	var vgs []string
	for _, f := range fss {
		if f.VG != "" && !slices.Contains(vgs, f.VG) {
			vgs = append(vgs, f.VG)
		}
	}
	return vgs
}

func isImageFile(root, f string) bool {
	for _, g := range ImageFiles(root) {
		if g == f {
			return true
		}
	}
	return false
}

// mountedImages lists the names of images with mounts under dir.
func mountedImages(mounts []MountInfo, dir string) []string {
	seen := map[string]bool{}
	var names []string
	for _, m := range MountsUnder(mounts, dir) {
		n := strings.SplitN(strings.TrimPrefix(m.MountPoint, "/"), "/", 2)[0]
		if n != "" && !strings.HasPrefix(n, ".") && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return names
}

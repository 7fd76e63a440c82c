package bootenv

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv/grub"
	"github.com/drd-linux/drd/internal/inroot"
	"github.com/drd-linux/drd/internal/mount"
)

// bootFS is the file system holding an image's /boot: its own /boot
// partition, or its root.
func bootFS(img *Image) (FileSystem, string, bool) {
	for _, mp := range []string{"/boot", "/"} {
		for _, f := range img.FileSystems {
			if f.MountPoint == mp {
				prefix := ""
				if mp == "/" {
					prefix = "/boot"
				}
				return f, prefix, true
			}
		}
	}
	return FileSystem{}, "", false
}

// fsOf is the file system of img mounted at mp.
func fsOf(img *Image, mp string) (FileSystem, bool) {
	for _, f := range img.FileSystems {
		if f.MountPoint == mp {
			return f, true
		}
	}
	return FileSystem{}, false
}

// openFS makes file system mp of img reachable and returns its top
// directory: where the booted image has it, where it is mounted already,
// or a private mount (read-only and without journal replay unless write).
// release undoes a private mount (after a syncfs, for write); its error
// (a failed flush, a busy unmount: what, where, what to do) is the
// caller's to report.
func (m Machine) openFS(img *Image, mp string, write bool) (dir string, release func() error, err error) {
	nothing := func() error { return nil }
	if img.Booted {
		return filepath.Join(m.Root, mp), nothing, nil
	}
	f, ok := fsOf(img, mp)
	if !ok {
		return "", nil, fmt.Errorf("%s has no file system mounted at %s", img.Name, mp)
	}
	devs, err := ReadDevices(m.SysDir)
	if err != nil {
		return "", nil, err
	}
	d, ok := devs.BySpec("UUID=" + f.UUID)
	if !ok && f.VG != "" {
		// An LV of an inactive VG (the clone's drd_<vg> after drd
		// umount): active while it is used, inactive again after.
		return m.openLV(img, f, write)
	}
	if !ok {
		return "", nil, fmt.Errorf("%s of %s (UUID=%s) is on no block device: is its disk attached?", mp, img.Name, f.UUID)
	}
	if mounts, err := ReadMountinfo(m.ProcDir); err == nil {
		for _, mi := range mounts {
			if mi.Major == d.Major && mi.Minor == d.Minor && mi.FSRoot == "/" && (!write || !strings.Contains(","+mi.Options+",", ",ro,")) {
				return mi.MountPoint, nothing, nil
			}
		}
	}
	spec := mount.Spec{Source: d.Path, Type: d.FSType, Flags: unix.MS_NODEV | unix.MS_NOSUID | unix.MS_NOEXEC, Pattern: "drd-boot-"}
	if !write {
		spec.Flags |= unix.MS_RDONLY
		spec.Data = readOnlyData(d.FSType)
	}
	dir, unmount, err := mount.Open(spec)
	if err != nil {
		return "", nil, fmt.Errorf("%s of %s: %w", mp, img.Name, err)
	}
	return dir, func() error {
		var flushed error
		if write {
			flushed = syncFS(dir)
		}
		if err := errors.Join(flushed, unmount()); err != nil {
			return fmt.Errorf("%s of %s: %w", mp, img.Name, err)
		}
		return nil
	}, nil
}

// syncFS writes out the file system of dir.
func syncFS(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err == nil {
		err = unix.Syncfs(fd)
		unix.Close(fd)
	}
	if err != nil {
		return fmt.Errorf("writing out the file system at %s: %w", dir, err)
	}
	return nil
}

// bootable reports whether drd can boot img: it is named and its record
// has a file system for /boot. (An image file boots only where it is a
// disk: opening it fails while it is not attached.)
func bootable(img *Image) bool {
	_, _, ok := bootFS(img)
	return ok && imageNameRE().MatchString(img.Name)
}

// readBootStates reads drd's block of every bootable image (nil entries
// for images that have none) and the freshest of them, and lists in
// st.ISL the images whose /boot has STAGEISL; a /boot it cannot unmount
// after is one of st.Problems.
func (m Machine) readBootStates(st *Status) (*BootState, error) {
	var all []BootState
	st.ISL = nil
	imgs := append([]*Image(nil), st.Images...)
	// In name order, as drd.cfg lists them: of equal sequence numbers,
	// GRUB obeys (and counts down in) the first.
	sort.SliceStable(imgs, func(i, j int) bool { return imgs[i].Name < imgs[j].Name })
	for _, img := range imgs {
		if !bootable(img) {
			continue
		}
		f, _, _ := bootFS(img)
		dir, release, err := m.openFS(img, f.MountPoint, false)
		if err != nil {
			continue // a disk that went away has no say
		}
		s, err := readBlockIn(inroot.Mounts(dir), blockRel(f.MountPoint))
		if rec := readRecovery(dir, f.MountPoint); rec != nil {
			st.ISL = append(st.ISL, RecoveryOn{Image: img.Name, Recovery: *rec})
		}
		if uerr := release(); uerr != nil {
			st.Problems = append(st.Problems, Problem{
				Kind:   StillMounted,
				What:   fmt.Sprintf("the %s file system of %s", f.MountPoint, img.Name),
				Why:    uerr.Error(),
				Action: "it stays mounted where the message says: unmount it (umount) once nothing uses it",
			})
		}
		if err == nil {
			all = append(all, s)
		}
	}
	best, _, ok := Freshest(all)
	if !ok {
		return nil, nil
	}
	return &best, nil
}

// blockRel is the block's path below the top of the boot file system.
func blockRel(mountPoint string) string {
	if mountPoint == "/boot" {
		return "grub/drdenv"
	}
	return "boot/grub/drdenv"
}

// grubDirRel is GRUB's directory below the top of the boot file system.
func grubDirRel(mountPoint string) string { return filepath.Dir(blockRel(mountPoint)) }

// newestKernel picks the kernel with the highest version among the file
// names of a /boot directory, and its initramfs if there is one.
func newestKernel(names []string) (kernel, initrd string) {
	var vers []string
	has := map[string]bool{}
	for _, n := range names {
		has[n] = true
		if v, ok := strings.CutPrefix(n, "vmlinuz-"); ok && v != "" {
			vers = append(vers, v)
		}
	}
	if len(vers) == 0 {
		return "", ""
	}
	sort.Slice(vers, func(i, j int) bool { return versionLess(vers[i], vers[j]) })
	v := vers[len(vers)-1]
	for _, cand := range []string{"initrd.img-" + v, "initramfs-" + v + ".img"} {
		if has[cand] {
			return "vmlinuz-" + v, cand
		}
	}
	return "vmlinuz-" + v, ""
}

// versionLess compares versions as dpkg roughly does: runs of digits by
// value, everything else character by character.
func versionLess(a, b string) bool {
	for a != "" && b != "" {
		da, ra := leadRun(a)
		db, rb := leadRun(b)
		if unicode.IsDigit(rune(da[0])) && unicode.IsDigit(rune(db[0])) {
			na, _ := strconv.ParseUint(da, 10, 64)
			nb, _ := strconv.ParseUint(db, 10, 64)
			if na != nb {
				return na < nb
			}
		} else if da != db {
			return da < db
		}
		a, b = ra, rb
	}
	return len(a) < len(b)
}

// leadRun splits off the leading run of digits or of non-digits.
func leadRun(s string) (string, string) {
	digit := unicode.IsDigit(rune(s[0]))
	i := 1
	for i < len(s) && unicode.IsDigit(rune(s[i])) == digit {
		i++
	}
	return s[:i], s[i:]
}

// kernelArgs is the booted kernel's command line without what differs
// between images (root=, the BOOT_IMAGE GRUB adds, drd's trial panic=).
func kernelArgs(cmdline string) string {
	var keep []string
	trialWatchdog := watchdogArmedBy(cmdline)
	for _, a := range strings.Fields(cmdline) {
		if trialWatchdog && isTrialWatchdogArg(a) {
			continue // a trial's softdog (TrialWatchdogArgs) must not outlive it
		}
		k, _, _ := strings.Cut(a, "=")
		switch k {
		case "BOOT_IMAGE", "root", "panic", "initrd", TrialArg:
			continue
		}
		keep = append(keep, a)
	}
	return strings.Join(keep, " ")
}

// menuImage describes img for drd.cfg: its /boot's UUID, its newest kernel
// (read in bootDir, the top of its boot file system) and command line.
func menuImage(img *Image, bootDir, args string) (grub.MenuImage, error) {
	f, prefix, _ := bootFS(img)
	root, ok := fsOf(img, "/")
	if !ok || root.UUID == "" {
		return grub.MenuImage{}, fmt.Errorf("%s: no UUID of its root file system in its record", img.Name)
	}
	ents, err := inroot.Mounts(bootDir).ReadDir(path.Join(".", prefix))
	if err != nil {
		return grub.MenuImage{}, fmt.Errorf("listing the kernels of %s: %w", img.Name, err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	kernel, initrd := newestKernel(names)
	if kernel == "" {
		return grub.MenuImage{}, fmt.Errorf("%s has no kernel (vmlinuz-*) in its /boot", img.Name)
	}
	cmdline := "root=UUID=" + root.UUID
	if args != "" {
		cmdline += " " + args
	}
	return grub.MenuImage{
		Name: img.Name, Title: fmt.Sprintf("drd: %s, Linux %s", img.Name, strings.TrimPrefix(kernel, "vmlinuz-")),
		BootUUID: f.UUID, BootPrefix: prefix, Kernel: kernel, Initrd: initrd, Cmdline: cmdline,
	}, nil
}

// errNoBootFS is returned for an image drd cannot boot.
var errNoBootFS = errors.New("not bootable by drd: its record names no /boot or / file system")

// openLV is openFS for file system f on an LV of a volume group that is
// not active: it activates the group, opens f, and its release
// deactivates the group again.
func (m Machine) openLV(img *Image, f FileSystem, write bool) (string, func() error, error) {
	ctx := context.Background()
	if err := m.ActivateVG(ctx, f.VG); err != nil {
		return "", nil, fmt.Errorf("%s of %s: %w", f.MountPoint, img.Name, err)
	}
	deactivate := func() error {
		if err := m.DeactivateVG(ctx, f.VG); err != nil {
			return fmt.Errorf("%s of %s: %w", f.MountPoint, img.Name, err)
		}
		return nil
	}
	devs, err := ReadDevices(m.SysDir)
	if err != nil {
		return "", nil, errors.Join(err, deactivate())
	}
	if _, ok := devs.BySpec("UUID=" + f.UUID); !ok {
		return "", nil, errors.Join(fmt.Errorf("%s of %s (UUID=%s) is on no block device, even with volume group %s active", f.MountPoint, img.Name, f.UUID, f.VG), deactivate())
	}
	dir, release, err := m.openFS(img, f.MountPoint, write)
	if err != nil {
		return "", nil, errors.Join(err, deactivate())
	}
	return dir, func() error {
		if err := release(); err != nil {
			return err // the VG stays active while its LV is mounted
		}
		return deactivate()
	}, nil
}

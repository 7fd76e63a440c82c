package clone

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/drd-linux/drd/bootenv/grub"
)

// The clone's grub-pc must install GRUB on the clone's disk, not on the
// disks of the image it was cloned from: grub-pc/install_devices in its
// debconf database names the clone's disk (by a stable name) after the
// clone, so an upgrade of grub-pc in the booted clone never writes the
// original's disk.

// stableDiskName is the /dev/disk/by-id name of disk that udev gives it
// on every machine (wwn-, then nvme-, ata-, scsi-, virtio-...; no
// partition), or "" when it has none (a loop device). devDir is /dev.
func stableDiskName(devDir, disk string) string {
	real, err := filepath.EvalSymlinks(disk)
	if err != nil {
		return ""
	}
	ents, err := os.ReadDir(filepath.Join(devDir, "disk/by-id"))
	if err != nil {
		return ""
	}
	var names []string
	for _, e := range ents {
		p := filepath.Join(devDir, "disk/by-id", e.Name())
		if strings.Contains(e.Name(), "-part") || strings.HasPrefix(e.Name(), "lvm-") || strings.HasPrefix(e.Name(), "dm-") {
			continue
		}
		if t, err := filepath.EvalSymlinks(p); err == nil && t == real {
			names = append(names, e.Name())
		}
	}
	rank := func(n string) int {
		for i, pre := range []string{"wwn-", "nvme-eui.", "nvme-", "ata-", "scsi-", "virtio-", "usb-"} {
			if strings.HasPrefix(n, pre) {
				return i
			}
		}
		return 99
	}
	slices.SortStableFunc(names, func(a, b string) int { return rank(a) - rank(b) })
	if len(names) == 0 {
		return ""
	}
	return "/dev/disk/by-id/" + names[0]
}

// fixGrubInstallDevices points the clone's grub-pc/install_devices at its
// own disk, when the source's names any.
func (c *run) fixGrubInstallDevices() error {
	if c.Target.File != "" {
		return nil // the disk an image file lands on is unknown
	}
	p := c.pathInClone("/" + grub.DebconfConfig)
	old, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	name := stableDiskName(filepath.Join(c.opt.Root, "dev"), c.disk)
	if name == "" {
		name = c.disk
	}
	text, changed := grub.SetDebconfValue(old, grub.GrubInstallDevices, name)
	if !changed {
		return nil
	}
	if err := writeLike(p, text); err != nil {
		return err
	}
	c.r.Note("grub-pc/install_devices (debconf) names the clone's disk %s", name)
	return nil
}

// pathInClone is where image path p is in the clone's file systems as
// mounted side by side: under the deepest mount point holding it.
func (c *run) pathInClone(p string) string {
	best, dir := "", ""
	for i, f := range c.FS {
		if rel, ok := inside(f.MountPoint, p); ok && c.dst[i] != "" && len(f.MountPoint) >= len(best) {
			best, dir = f.MountPoint, filepath.Join(c.dst[i], rel)
		}
	}
	return dir
}

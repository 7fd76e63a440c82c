package runcmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/bootenv/grub"
	"github.com/drd-linux/drd/internal/inroot"
	"github.com/drd-linux/drd/internal/report"
)

// The boot loader in the runcmd environment. A grub-pc, grub-efi or shim
// upgrade (or a kernel's update-grub hook) runs grub-install on the disks
// debconf names (the booted system's) and update-grub, which needs the
// image's disks in /dev. Neither may run there: the shims of
// safety.ShimmedBootTools come first in PATH, say what they skip and
// log it; after the command drd installs GRUB on the image's own disk.

// shimDir holds the shims in the jail; bootLog is their log in the
// staging directory.
const (
	shimDir = stagingDir + "/bin"
	bootLog = "boot-loader.log"
)

// bootShim is the one script behind every name of ShimmedBootTools.
const bootShim = `#!/bin/sh
# drd runcmd: the boot loader of the inactive image is not installed from
# the runcmd environment (the disks debconf names are the booted system's).
name=${0##*/}
call="$name${*:+ $*}"
printf '%s\n' "$call" >> ` + outDir + `/` + bootLog + `
case $name in
grub-install) echo "drd runcmd: skipped \"$call\": drd installs GRUB on $DRD_IMAGE's own disk after the command" >&2 ;;
*) echo "drd runcmd: skipped \"$call\": $DRD_IMAGE regenerates its grub.cfg at its first boot (drd boot-check)" >&2 ;;
esac
exit 0
`

// installDevices are the devices in /dev that the image's grub-pc would
// install GRUB on ("/dev/disk/by-id/ata-X, /dev/sda"). The jail gets an
// empty file at each path, a placeholder: grub-pc's postinst checks that
// the device exists before it calls grub-install (drd's shim).
func installDevices(root string) []string {
	data, err := inroot.Mounts(root).ReadFile(grub.DebconfConfig)
	if err != nil {
		return nil
	}
	var devs []string
	for _, f := range strings.FieldsFunc(grub.DebconfValue(data, grub.GrubInstallDevices), func(r rune) bool { return r == ',' || r == ' ' }) {
		if p := filepath.Clean(f); strings.HasPrefix(p, "/dev/") && p != "/dev" && !slices.Contains(devs, p) {
			devs = append(devs, p)
		}
	}
	return devs
}

// bootLoaderPackage tells whether a package's change is one after which
// the image's boot loader must be installed again.
func bootLoaderPackage(name string) bool {
	for _, p := range []string{"grub-pc", "grub-efi", "grub2-common", "grub-common", "shim-signed"} {
		if name == p || strings.HasPrefix(name, p+"-") {
			return true
		}
	}
	return false
}

// bootLoaderWanted says why the image's boot loader must be installed
// again after the command, "" if not: a shim skipped grub-install, or a
// boot-loader package changed.
func bootLoaderWanted(skipped []string, changes []bootenv.PackageChange) string {
	for _, s := range skipped {
		if strings.HasPrefix(s, "grub-install") {
			return "the command ran " + s
		}
	}
	for _, c := range changes {
		if bootLoaderPackage(c.Package) && c.To != "" {
			return c.Text()
		}
	}
	return ""
}

// grubCfgStale says why the image's grub.cfg must be made again at its
// first boot, "" if it need not: a shim skipped update-grub, or a kernel
// package changed. The second holds when no hook called update-grub:
// Debian 13's zz-update-grub skips it in a container, and
// systemd-detect-virt (257) calls the runcmd environment one (its PID 1
// is not the machine's).
func grubCfgStale(skipped []string, changes []bootenv.PackageChange) string {
	for _, s := range skipped {
		if !strings.HasPrefix(s, "grub-install") {
			return "the command ran " + s
		}
	}
	for _, c := range changes {
		if strings.HasPrefix(c.Package, "linux-image-") {
			return c.Text()
		}
	}
	return ""
}

// readBootLog is what the shims skipped, one call per line.
func readBootLog(staging *stage) []string {
	data, err := staging.read(bootLog)
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

// redoBootLoader installs GRUB for BIOS on the disk of the image mounted
// at dir, when the image boots that way (its /boot/grub/i386-pc) and the
// command wanted a boot loader installed; and marks grub.cfg for
// regeneration at the image's first boot when a shim skipped update-grub.
func redoBootLoader(ctx context.Context, opt Options, dir string, staging *stage, changes []bootenv.PackageChange, r report.Reporter) error {
	skipped := readBootLog(staging)
	for _, s := range skipped {
		r.Note("skipped in the runcmd environment: %s", s)
	}
	if why := grubCfgStale(skipped, changes); why != "" {
		if err := bootenv.MarkGrubCfgStale(dir); err != nil {
			return err
		}
		r.Step("Marked the image's grub.cfg to be made again at its first boot (drd boot-check runs update-grub): %s", why)
	}
	why := bootLoaderWanted(skipped, changes)
	if why == "" {
		return nil
	}
	bootDir := filepath.Join(dir, "boot")
	tr := inroot.Mounts(dir)
	if _, err := tr.Stat("boot/grub/i386-pc"); err != nil {
		r.Note("%s: the image has no GRUB for BIOS (%v); its boot loader is left as it is", why, err)
		return nil
	}
	// grub-install runs on the booted system and follows links: none
	// may be on its way into the image's /boot/grub or GRUB's modules.
	for _, p := range []string{"boot/grub", "usr/lib/grub/i386-pc"} {
		if err := noLinks(tr, p); err != nil {
			r.Warn("%s, but %v: drd does not install GRUB through links the image holds; its boot loader is left as it was; remove the link, then install GRUB on its disk yourself (grub-install --boot-directory=%s DISK)", why, err, bootDir)
			return nil
		}
	}
	disk, err := diskUnder(opt.SysDir, tr, "boot")
	if err != nil {
		r.Warn("%s, but the image's disk is unknown (%v): its boot loader is left as it was; install GRUB on its disk yourself (grub-install --boot-directory=%s DISK)", why, err, bootDir)
		return nil
	}
	r.Step("Installing GRUB for BIOS on %s, the image's disk (%s)", disk, why)
	out, err := grub.InstallGrubBIOS(ctx, opt.Runner, dir, bootDir, disk)
	if err != nil {
		return err
	}
	if out != "" {
		r.Note("%s", out)
	}
	return nil
}

// diskUnder is the whole disk holding the file system of dir, found
// through sysfs (sysDir: /sys): a partition's parent.
func diskUnder(sysDir string, tr inroot.Tree, dir string) (string, error) {
	f, err := tr.Open(dir, unix.O_PATH|unix.O_NOFOLLOW, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return "", err
	}
	dev := filepath.Join(sysDir, "dev/block", fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)))
	real, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return "", fmt.Errorf("%s is on no block device: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(real, "partition")); err != nil {
		return "", fmt.Errorf("%s is on %s, not on a partition of a disk", dir, filepath.Base(real))
	}
	return "/dev/" + filepath.Base(filepath.Dir(real)), nil
}

// noLinks checks that dir in the image, every directory on the way to
// it and everything below it are no symbolic links (a missing dir is
// fine: there is nothing to follow).
func noLinks(tr inroot.Tree, dir string) error {
	for d := dir; d != "." && d != "/"; d = filepath.Dir(d) {
		fi, err := tr.Lstat(d)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			dest, _ := tr.Readlink(d)
			return fmt.Errorf("/%s in the image is a symbolic link to %s", d, dest)
		}
	}
	ents, err := tr.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			dest, _ := tr.Readlink(p)
			return fmt.Errorf("/%s in the image is a symbolic link to %s", p, dest)
		case e.IsDir():
			if err := noLinks(tr, p); err != nil {
				return err
			}
		}
	}
	return nil
}

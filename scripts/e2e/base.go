package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// What the base system is made of, with its Release. Changing any of it
// changes the cache key.
const mirror = "http://deb.debian.org/debian"

// basePackages are installed on top of debootstrap's minbase: a kernel,
// systemd, the file system, LVM and GRUB tools drd works with. The harness
// talks to the guest through the agent; a VM started with Options.Network
// also gets a NIC on QEMU's user network (DHCP by systemd-networkd, DNS
// from QEMU) for scenarios that fetch from a mirror, and sshd for those
// that drive the guest as an administrator's tools do (Ansible).
var basePackages = []string{
	"systemd-sysv", "udev", "dbus", "linux-image-amd64", "initramfs-tools", "zstd", "kmod",
	"e2fsprogs", "dosfstools", "xfsprogs", "lvm2", "fdisk", "procps",
	"grub-pc", "grub-efi-amd64-bin", "efibootmgr",
	"slirp4netns",    // the runcmd jail's user-mode network (docs/runcmd.md)
	"openssh-server", // Ansible's way in (Options.Network, SSHPort)
}

// Base is a debootstrapped system as a file-system image the builder VM
// boots, with the kernel and initrd to boot it directly.
type Base struct {
	Dir    string // cache directory
	Tree   string // the system as a directory, from which layouts are made
	Rootfs string // the same as an ext4 image, no partition table: the builder VM's root
	Kernel string
	Initrd string
}

type file struct {
	mode    os.FileMode
	content string // for a symlink (mode&os.ModeSymlink): its target
}

// baseFiles are written into the debootstrapped tree: configuration that
// makes the system a quiet, fast test guest with a root shell on ttyS0 and
// the harness agent.
func baseFiles() map[string]file {
	mask := file{mode: os.ModeSymlink, content: "/dev/null"}
	return map[string]file{
		"/etc/hostname": {0o644, "drd-e2e\n"},
		"/etc/hosts":    {0o644, "127.0.0.1 localhost\n127.0.1.1 drd-e2e\n"},
		"/etc/fstab":    {0o644, "# written by the layout builder\n"},
		"/etc/default/grub": {0o644, `# drd-e2e: GRUB on the serial console, short timeout.
GRUB_DEFAULT=0
GRUB_TIMEOUT=1
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200"
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
`},
		"/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf": {0o644, `[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200,57600,38400,9600 %I $TERM
`},
		"/etc/systemd/system/drd-e2e-agent.service": {0o644, `[Unit]
Description=drd e2e harness agent (runs commands for the test harness)
DefaultDependencies=no
After=systemd-udev-trigger.service systemd-udevd.service local-fs.target
Conflicts=shutdown.target
Before=shutdown.target
IgnoreOnIsolate=yes

[Service]
ExecStart=/usr/local/lib/drd-e2e/start-agent
Restart=always
RestartSec=1

[Install]
WantedBy=sysinit.target
`},
		"/etc/systemd/system/sysinit.target.wants/drd-e2e-agent.service": {os.ModeSymlink, "/etc/systemd/system/drd-e2e-agent.service"},
		"/usr/local/lib/drd-e2e/start-agent": {0o755, `#!/bin/sh
# Starts the harness agent from the tools disk the harness attaches.
set -e
dev=/dev/disk/by-id/virtio-` + ToolsSerial + `
i=0
while [ ! -e $dev ]; do
	i=$((i+1))
	if [ $i -gt 300 ]; then echo "drd-e2e: no tools disk $dev after 30 s" >&2; exit 1; fi
	sleep 0.1
done
mkdir -p /run/drd-e2e/tools
mountpoint -q /run/drd-e2e/tools || mount -t squashfs -o ro $dev /run/drd-e2e/tools
cp /run/drd-e2e/tools/agent /run/drd-e2e/agent
umount /run/drd-e2e/tools
exec /run/drd-e2e/agent -port /dev/virtio-ports/drd.agent
`},
		"/usr/local/lib/drd-e2e/builder-init": {0o755, `#!/bin/sh
# PID 1 of the layout builder VM: the root file system is this image, read
# only; the job disk holds build.sh, which lays out the other disks.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mountpoint -q /dev || mount -t devtmpfs dev /dev
mount -t tmpfs run /run
mount -t tmpfs tmp /tmp
mkdir -p /run/lock /run/lvm
if [ -d /sys/firmware/efi ]; then mount -t efivarfs efivarfs /sys/firmware/efi/efivars; fi
/lib/systemd/systemd-udevd --daemon
udevadm trigger --action=add
udevadm settle
mkdir -p /run/job
mount -t squashfs -o ro /dev/disk/by-id/virtio-drdjob /run/job
sh -x /run/job/build.sh
rc=$?
echo "DRD-E2E-BUILD-RESULT $rc"
sync
echo o > /proc/sysrq-trigger
sleep 60
`},
		// The NIC of Options.Network: DHCP from QEMU's user network, whose
		// DNS forwarder is 10.0.2.3. Nothing waits for it at boot.
		"/etc/systemd/network/80-drd-e2e.network":                              {0o644, "[Match]\nType=ether\n\n[Network]\nDHCP=ipv4\n"},
		"/etc/systemd/system/multi-user.target.wants/systemd-networkd.service": {os.ModeSymlink, "/lib/systemd/system/systemd-networkd.service"},
		"/etc/systemd/system/sockets.target.wants/systemd-networkd.socket":     {os.ModeSymlink, "/lib/systemd/system/systemd-networkd.socket"},
		"/etc/systemd/system/systemd-networkd-wait-online.service":             mask,
		"/etc/resolv.conf": {0o644, "nameserver 10.0.2.3\n"},
		// Timers that would only wake up a test VM.
		"/etc/systemd/system/apt-daily.timer":         mask,
		"/etc/systemd/system/apt-daily-upgrade.timer": mask,
		"/etc/systemd/system/e2scrub_all.timer":       mask,
		"/etc/systemd/system/e2scrub_reap.service":    mask,
		"/etc/systemd/system/fstrim.timer":            mask,
	}
}

// guestFiles are written over the base tree when a layout is staged, so
// that changing them rebuilds the layouts (minutes), not the base system.
// They win over baseFiles.
func guestFiles() map[string]file {
	return map[string]file{
		// /run comes from the initramfs mounted noexec: the agent runs from
		// a tmpfs of its own.
		"/usr/local/lib/drd-e2e/start-agent": {0o755, `#!/bin/sh
# Starts the harness agent from the tools disk the harness attaches.
set -e
dev=/dev/disk/by-id/virtio-` + ToolsSerial + `
i=0
while [ ! -e $dev ]; do
	i=$((i+1))
	if [ $i -gt 300 ]; then echo "drd-e2e: no tools disk $dev after 30 s" >&2; exit 1; fi
	sleep 0.1
done
mkdir -p /run/drd-e2e
mountpoint -q /run/drd-e2e || mount -t tmpfs -o mode=0755,size=256m drd-e2e /run/drd-e2e
mkdir -p /run/drd-e2e/tools
mountpoint -q /run/drd-e2e/tools || mount -t squashfs -o ro $dev /run/drd-e2e/tools
cp /run/drd-e2e/tools/agent /run/drd-e2e/agent.new
mv /run/drd-e2e/agent.new /run/drd-e2e/agent
umount /run/drd-e2e/tools
exec /run/drd-e2e/agent -port /dev/virtio-ports/drd.agent
`},
	}
}

// baseKey is the cache key of r's base system.
func baseKey(r Release) string {
	return key(append([]string{"base-v2", r.Suite, mirror, strings.Join(r.packages(), ",")}, fileParts(baseFiles())...)...)
}

// danglingLinks lists the symbolic links of files that lead nowhere in the
// tree at root: a unit enabled or named that no package of the release
// ships (a package split off, a unit renamed). Links to /dev/null (masks)
// are not looked at.
func danglingLinks(root string, files map[string]file) []string {
	var bad []string
	for p, f := range files {
		if f.mode&os.ModeSymlink == 0 || f.content == "/dev/null" {
			continue
		}
		target := f.content
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
		if _, err := os.Stat(filepath.Join(root, target)); err != nil {
			bad = append(bad, p+" -> "+f.content)
		}
	}
	sort.Strings(bad)
	return bad
}

// filesDigest is a key part for a set of files.
func filesDigest(files map[string]file) string { return key(fileParts(files)...) }

func fileParts(files map[string]file) []string {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var parts []string
	for _, p := range paths {
		parts = append(parts, p, files[p].mode.String(), files[p].content)
	}
	return parts
}

func writeTree(root string, files map[string]file) error {
	for p, f := range files {
		dst := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		os.Remove(dst)
		var err error
		if f.mode&os.ModeSymlink != 0 {
			err = os.Symlink(f.content, dst)
		} else {
			err = os.WriteFile(dst, []byte(f.content), f.mode)
		}
		if err != nil {
			return fmt.Errorf("writing %s into the base tree: %w", p, err)
		}
	}
	return nil
}

// ensureBase returns r's base system, running debootstrap if the cache
// does not hold one for the current package list and files.
func ensureBase(ctx context.Context, r Release, logf func(string, ...any)) (Base, bool, error) {
	dir := filepath.Join(CacheDir(), "base-"+baseKey(r))
	b := Base{Dir: dir, Tree: filepath.Join(dir, "tree"), Rootfs: filepath.Join(dir, "rootfs.ext4"), Kernel: filepath.Join(dir, "vmlinuz"), Initrd: filepath.Join(dir, "initrd.img")}
	hit, err := cached(ctx, dir, func(tmp string) error {
		logf("building the base system of %s in %s (debootstrap, about 2 minutes)", r, tmp)
		tree := filepath.Join(tmp, "tree")
		if out, err := run(ctx, "debootstrap", "--variant=minbase", "--include="+strings.Join(r.packages(), ","),
			r.Suite, tree, mirror); err != nil {
			os.WriteFile(filepath.Join(tmp, "debootstrap.log"), []byte(out), 0o644)
			return fmt.Errorf("debootstrap of the base system failed (is %s reachable?): %w", mirror, err)
		}
		if _, err := run(ctx, "chroot", tree, "passwd", "-d", "root"); err != nil {
			return err
		}
		if _, err := run(ctx, "chroot", tree, "apt-get", "clean"); err != nil {
			return err
		}
		if err := writeTree(tree, baseFiles()); err != nil {
			return err
		}
		if bad := danglingLinks(tree, baseFiles()); len(bad) > 0 {
			return fmt.Errorf("the base system of %s lacks what these links of the harness name (a package missing from its list?): %s",
				r, strings.Join(bad, ", "))
		}
		pkgs, err := run(ctx, "chroot", tree, "dpkg-query", "-W")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tmp, "packages.txt"), []byte(pkgs), 0o644); err != nil {
			return err
		}
		for src, dst := range map[string]string{"vmlinuz": "vmlinuz", "initrd.img": "initrd.img"} {
			real, err := filepath.EvalSymlinks(filepath.Join(tree, src))
			if err != nil {
				return fmt.Errorf("finding the kernel in the base tree: %w", err)
			}
			if _, err := run(ctx, "cp", real, filepath.Join(tmp, dst)); err != nil {
				return err
			}
		}
		du, err := run(ctx, "du", "-sxb", tree)
		if err != nil {
			return err
		}
		used, err := strconv.ParseInt(strings.Fields(du)[0], 10, 64)
		if err != nil {
			return fmt.Errorf("reading the size of the base tree from %q: %w", du, err)
		}
		size := (used*13/10 + 256*MiB) / MiB * MiB
		if _, err := run(ctx, "mkfs.ext4", "-q", "-F", "-L", "drdbase", "-d", tree,
			filepath.Join(tmp, "rootfs.ext4"), strconv.FormatInt(size>>10, 10)+"k"); err != nil {
			return err
		}
		return nil
	})
	return b, hit, err
}

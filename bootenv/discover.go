package bootenv

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
)

// BlockDev is what discovery knows of one block device: where it sits in
// the kernel's device hierarchy and what its signature says.
type BlockDev struct {
	Path         string // /dev/loop0p3
	Major, Minor uint32
	Disk         string // whole disk holding it: /dev/loop0 (itself for a disk)
	Partition    int    // partition number, 0 for a whole disk
	Size         int64  // bytes
	FSType       string // ext4, xfs, vfat, swap, LVM2_member, "" if none
	ID           DevID
	BackingFile  string // the image file of a loop device
}

// DeviceTable lists the block devices of the machine.
type DeviceTable []BlockDev

// ByNumber finds a device by its major:minor.
func (t DeviceTable) ByNumber(major, minor uint32) (BlockDev, bool) {
	for _, d := range t {
		if d.Major == major && d.Minor == minor {
			return d, true
		}
	}
	return BlockDev{}, false
}

// partitionsOfFile tells whether a loop device of image file f shows
// partitions.
func (t DeviceTable) partitionsOfFile(f string) bool {
	return slices.ContainsFunc(t, func(d BlockDev) bool { return d.Partition > 0 && t.backingFileOf(d.Disk) == f })
}

// backingFileOf returns the image file behind disk, "" if none.
func (t DeviceTable) backingFileOf(disk string) string {
	for _, d := range t {
		if d.Path == disk {
			return d.BackingFile
		}
	}
	return ""
}

// BySpec finds the device an fstab or crypttab spec names.
func (t DeviceTable) BySpec(spec string) (BlockDev, bool) {
	s := ParseDevSpec(spec)
	for _, d := range t {
		if s.Matches(d.ID) {
			return d, true
		}
	}
	return BlockDev{}, false
}

// SystemFS is one critical file system of an image as discovery found it.
type SystemFS struct {
	FileSystem
	Dev      BlockDev
	HostPath string // where it is mounted now ("" when not mounted)
	Spec     string // its device in the image's fstab ("" when fstab lacks it)
	Options  string // its mount options in fstab
}

// Mounted reports whether the file system is mounted now.
func (f SystemFS) Mounted() bool { return f.HostPath != "" }

// SharedFS is a file system the image uses but that is not part of it:
// other disks, network and memory file systems, swap.
type SharedFS struct {
	MountPoint string
	Source     string
	Type       string
	Why        string // why it is shared, for the plan
}

// Layout is the booted system image: its critical and shared file systems.
type Layout struct {
	Root     string // where its root is mounted: "/" or --root
	Disk     string // the disk holding "/" (for a root on LVM: its VG's first PV's)
	VG       string // the LVM volume group of "/", "" when "/" is not on LVM
	Critical []SystemFS
	Shared   []SharedFS
}

// CriticalMountPoints are always part of the image, wherever they live.
var alwaysCritical = map[string]bool{"/": true, "/boot": true, "/boot/efi": true}

// pseudo file systems are never listed.
var pseudo = map[string]bool{
	"proc": true, "sysfs": true, "devtmpfs": true, "devpts": true, "cgroup": true,
	"cgroup2": true, "securityfs": true, "debugfs": true, "tracefs": true, "pstore": true,
	"bpf": true, "mqueue": true, "hugetlbfs": true, "configfs": true, "fusectl": true,
	"binfmt_misc": true, "autofs": true, "efivarfs": true, "rpc_pipefs": true, "nsfs": true,
}

// drdMounts is where drd mounts other images: never part of this one.
const drdMounts = "/var/opt/drd/mnts"

// Discover classifies the file systems of the image rooted at root from
// the mount table, the image's fstab and the machine's block devices.
func Discover(root string, mounts []MountInfo, fstab []FstabEntry, devs DeviceTable) (*Layout, error) {
	under := MountsUnder(mounts, root)
	l := &Layout{Root: root}
	var rootDev BlockDev
	found := false
	for _, m := range under {
		if m.MountPoint == "/" {
			d, ok := devs.ByNumber(m.Major, m.Minor)
			if !ok {
				return nil, fmt.Errorf("the root file system at %s (%s, device %d:%d) is not on a block device drd can see", root, m.Source, m.Major, m.Minor)
			}
			rootDev, found = d, true
		}
	}
	if !found {
		return nil, fmt.Errorf("nothing is mounted at %s: give --root the directory where the image's root file system is mounted", root)
	}
	l.Disk, l.VG = rootDev.Disk, rootDev.ID.VG
	inFstab := map[string]FstabEntry{}
	for _, e := range fstab {
		inFstab[path.Clean(e.File)] = e
	}

	mounted := map[string]bool{}
	for _, m := range under {
		if m.MountPoint == drdMounts || strings.HasPrefix(m.MountPoint, drdMounts+"/") {
			continue
		}
		mounted[m.MountPoint] = true
		e, listed := inFstab[m.MountPoint]
		d, isBlock := devs.ByNumber(m.Major, m.Minor)
		switch {
		case !isBlock:
			if pseudo[m.FSType] && !listed {
				continue
			}
			l.Shared = append(l.Shared, SharedFS{m.MountPoint, m.Source, m.FSType, "not on a block device"})
		case m.FSRoot != "/":
			l.Shared = append(l.Shared, SharedFS{m.MountPoint, m.Source, m.FSType, "bind mount of " + m.FSRoot})
		case l.critical(m.MountPoint, d):
			fs := SystemFS{Dev: d, HostPath: path.Join(root, m.MountPoint)}
			fs.FileSystem = FileSystem{MountPoint: m.MountPoint, Device: d.Path, Type: m.FSType,
				UUID: d.ID.UUID, Label: d.ID.Label, Size: d.Size, VG: d.ID.VG, LV: d.ID.LV}
			if listed {
				fs.Spec, fs.Options = e.Spec, e.Options
			}
			l.Critical = append(l.Critical, fs)
		default:
			l.Shared = append(l.Shared, SharedFS{m.MountPoint, d.Path, m.FSType, l.whyShared(d)})
		}
	}

	for _, e := range fstab {
		mp := path.Clean(e.File)
		if mounted[mp] {
			continue
		}
		if e.Type == "swap" || mp == "none" || !strings.HasPrefix(mp, "/") {
			l.Shared = append(l.Shared, SharedFS{e.File, e.Spec, e.Type, "swap or not a mount point"})
			continue
		}
		d, ok := devs.BySpec(e.Spec)
		if !ok || !l.critical(mp, d) {
			why := "not mounted, " + l.whyShared(d)
			if !ok {
				why = "not mounted; no block device of this machine"
			}
			l.Shared = append(l.Shared, SharedFS{mp, e.Spec, e.Type, why})
			continue
		}
		typ := d.FSType
		if typ == "" || e.Type != "auto" {
			typ = e.Type
		}
		fs := SystemFS{Dev: d, Spec: e.Spec, Options: e.Options}
		fs.FileSystem = FileSystem{MountPoint: mp, Device: d.Path, Type: typ, UUID: d.ID.UUID, Label: d.ID.Label, Size: d.Size, VG: d.ID.VG, LV: d.ID.LV}
		l.Critical = append(l.Critical, fs)
	}
	sortByMountOrder(l.Critical)
	sort.SliceStable(l.Shared, func(i, j int) bool { return l.Shared[i].MountPoint < l.Shared[j].MountPoint })
	return l, nil
}

// critical tells whether the file system mounted at mp from d is part of
// the image: /, /boot and /boot/efi always; with / on LVM, every LV of
// its volume group; else every file system on the disk of /.
func (l *Layout) critical(mp string, d BlockDev) bool {
	switch {
	case alwaysCritical[mp]:
		return true
	case l.VG != "":
		return d.ID.VG == l.VG
	}
	return d.Disk == l.Disk
}

// whyShared says why a file system on d is not part of the image.
func (l *Layout) whyShared(d BlockDev) string {
	switch {
	case l.VG != "" && d.ID.VG != "":
		return "in volume group " + d.ID.VG + ", not the root's (" + l.VG + ")"
	case l.VG != "":
		return "not in the root's volume group " + l.VG
	}
	return "on another disk (" + d.Disk + ")"
}

// sortByMountOrder puts parents before children: "/", "/boot", "/boot/efi", "/var".
func sortByMountOrder(fs []SystemFS) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i].MountPoint, fs[j].MountPoint
		if da, db := depth(a), depth(b); da != db {
			return da < db
		}
		return a < b
	})
}

func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}

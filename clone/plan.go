package clone

import (
	"fmt"
	"strings"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/images"
)

// Plan is a clone worked out in full before anything is written: what is
// copied from where to where, and how the target is laid out.
type Plan struct {
	Source *bootenv.Layout
	Origin *bootenv.Record // record of the booted image
	Name   string          // the clone's name: sysimage_001
	ID     string
	Target Target
	FS     []TargetFS // in mount order; the ESP, if any, among them
	Parts  []images.Part
	VG     *VGPlan    // the clone's volume group; nil when / is not on LVM
	Snaps  []snapshot // snapshots the copy reads from; none: two passes
	// NoSnaps says why a clone of a root on LVM copies without snapshots.
	NoSnaps string
	// Reuses is the retired image (drd commit) the target holds and the
	// clone replaces, without -x overwrite=true; Deactivated are its
	// volume groups the plan found active, unused, and deactivated.
	Reuses      string
	Deactivated []string
}

// Target is where the clone goes.
type Target struct {
	Given  string // as on the command line
	Disk   string // block device: /dev/vdb, or the loop device of a file
	File   string // the image file, "" for a block device
	Create bool   // the image file does not exist yet
	Size   int64
}

// TargetFS is one file system of the clone.
type TargetFS struct {
	Src        bootenv.SystemFS // zero for an ESP made with -x esp=true
	MountPoint string
	Type       string
	Part       int    // index in Plan.Parts (for an LV: of its VG's physical volume)
	LV         string // its logical volume in Plan.VG; "" for a partition
	Size       int64  // bytes of its partition or logical volume
	Used       int64  // bytes in use on the source
	Inodes     int64  // inodes in use on the source
	ID         bootenv.DevID
}

// IsESP reports whether fs is the EFI system partition.
func (fs TargetFS) IsESP() bool { return fs.Type == "vfat" }

// shortLabel is a file-system label short enough for every file system
// (ext4 takes 16 bytes, xfs 12, vfat 11): drd001-root, drd001-boot.
func shortLabel(name, mountPoint, typ string) string {
	num := strings.TrimPrefix(name, "sysimage_")
	if typ == "vfat" {
		return "DRD" + num + "-ESP"
	}
	l := "drd" + num + "-" + role(mountPoint)
	if len(l) > 12 {
		l = l[:12]
	}
	return l
}

// role names a file system by its mount point in labels and partition
// names: root, boot, boot_efi, var_tmp.
func role(mountPoint string) string {
	if mountPoint == "/" {
		return "root"
	}
	return strings.ReplaceAll(strings.TrimPrefix(mountPoint, "/"), "/", "_")
}

// partName is the GPT partition name: drd-sysimage_001-root.
func partName(name, mountPoint string) string {
	n := "drd-" + name + "-" + role(mountPoint)
	if len(n) > 36 {
		n = n[:36]
	}
	return n
}

// stampID gives the partition that holds the clone's root (its own, or
// its VG's physical volume) the clone's id as its GPT partition GUID. The
// partition table is the first thing the clone writes: from then on drd
// status can tell this clone by it, even before it has a file system or a
// record (bootenv's unrecordedClones).
func (p *Plan) stampID() {
	for _, f := range p.FS {
		if f.MountPoint != "/" {
			continue
		}
		anchor := f.Part
		p.Parts[anchor].GUID = p.ID
		for j := range p.FS {
			if p.FS[j].Part == anchor && p.FS[j].LV == "" {
				p.FS[j].ID.PartUUID = p.ID
			}
		}
	}
}

// layout turns the critical file systems into the target's partitions,
// sized for a target of size bytes.
func layout(name string, src []bootenv.SystemFS, usage map[string]fsUsage, size int64, forceESP bool, vg *VGPlan) ([]images.Part, []TargetFS, error) {
	var fss []TargetFS
	var needs []need
	hasESP := false
	for _, s := range src {
		u := usage[s.MountPoint]
		t := TargetFS{Src: s, MountPoint: s.MountPoint, Type: s.Type, Used: u.bytes, Inodes: u.inodes}
		switch s.Type {
		case "ext2", "ext3", "ext4", "xfs", "vfat":
		default:
			return nil, nil, fmt.Errorf("%s is %s; drd clones ext2/3/4, xfs and vfat file systems", s.MountPoint, s.Type)
		}
		if t.IsESP() {
			hasESP = true
		}
		if vg != nil && s.VG == vg.Source && s.LV != "" {
			t.LV = s.LV
		}
		fss = append(fss, t)
		needs = append(needs, needOf(s, u.bytes))
	}
	if forceESP && !hasESP {
		fss = append(fss, TargetFS{MountPoint: "/boot/efi", Type: "vfat"})
		needs = append(needs, need{mountPoint: "/boot/efi", size: defaultESPSize, fixed: true})
	}
	for i := range needs {
		if needs[i].fixed && !needs[i].lvm && needs[i].size < minESPSize {
			needs[i].size = minESPSize
		}
	}
	lvs := 0
	for _, f := range fss {
		if f.LV != "" {
			lvs++
		}
	}
	if vg != nil {
		needs = append(needs, vgNeeds(vg, lvs)...)
	}
	sizes, err := sizeTarget(size, needs)
	if err != nil {
		return nil, nil, err
	}
	parts := []images.Part{{Number: 1, Name: "drd-" + name + "-bios", Type: images.BIOSBoot, Size: biosBootSize}}
	// ESP first on the disk, as installers do; then the others in mount order.
	order := make([]int, 0, len(fss))
	for i, f := range fss {
		if f.IsESP() {
			order = append([]int{i}, order...)
		} else {
			order = append(order, i)
		}
	}
	var pvSize int64
	for i := range needs {
		if i >= len(fss) || fss[i].LV != "" {
			pvSize += sizes[i] // the LVs, the VG's metadata and free space
		}
	}
	for _, i := range order {
		if fss[i].LV != "" {
			continue
		}
		typ := images.LinuxFS
		if fss[i].IsESP() {
			typ = images.ESP
		}
		fss[i].Part = len(parts)
		parts = append(parts, images.Part{Number: len(parts) + 1, Name: partName(name, fss[i].MountPoint), Type: typ, Size: sizes[i], GUID: bootenv.NewID()})
		fss[i].ID = bootenv.DevID{
			UUID:      newFSUUID(fss[i].Type),
			Label:     shortLabel(name, fss[i].MountPoint, fss[i].Type),
			PartUUID:  parts[len(parts)-1].GUID,
			PartLabel: parts[len(parts)-1].Name,
		}
		fss[i].Size = sizes[i]
	}
	if vg != nil && lvs > 0 {
		vg.Part = len(parts)
		parts = append(parts, images.Part{Number: len(parts) + 1, Name: partName(name, "/lvm"), Type: images.LinuxLVM, Size: pvSize, GUID: bootenv.NewID()})
		for i := range fss {
			if fss[i].LV == "" {
				continue
			}
			fss[i].Part = vg.Part
			fss[i].Size = (sizes[i] + extentSize - 1) / extentSize * extentSize
			fss[i].ID = bootenv.DevID{
				UUID:  newFSUUID(fss[i].Type),
				Label: shortLabel(name, fss[i].MountPoint, fss[i].Type),
				Path:  "/dev/mapper/" + bootenv.DMName(vg.Name, fss[i].LV),
				VG:    vg.Name, LV: fss[i].LV,
			}
		}
	}
	return parts, fss, nil
}

// newFSUUID makes the UUID of a new file system as blkid will print it:
// a version-4 UUID, or XXXX-XXXX for FAT's volume id.
func newFSUUID(typ string) string {
	id := bootenv.NewID()
	if typ == "vfat" {
		return strings.ToUpper(id[:4] + "-" + id[4:8])
	}
	return id
}

// fsUsage is what a source file system has in use.
type fsUsage struct{ bytes, inodes int64 }

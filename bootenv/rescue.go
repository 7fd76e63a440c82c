package bootenv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/drd-linux/drd/internal/mount"
	"github.com/drd-linux/drd/internal/report"
)

// Rescue mode: the machine runs no image (STAGEISL, docs/isl.md), so
// there is no booted root to start from. RescueScan finds the images by
// their records alone; SetTarget makes one the boot target with the
// pieces drd activate uses (CheckActivatable, PlanActivate) and the same
// writer (switchTarget: menus and blocks, records, BootOrder).

// rootFSTypes are the file systems an image's root can be on.
var rootFSTypes = map[string]bool{"ext2": true, "ext3": true, "ext4": true, "xfs": true, "btrfs": true}

// RescueScan finds every drd image on the machine's block devices: each
// file system with a record (image.json), read through a private
// read-only mount, the logical volumes of every volume group activated
// first (rescueDevices). Status.Booted is nil. A file system it cannot
// read is one of Status.Problems (it may be an image: an original has no
// drd name to tell), and so is a volume group it could not activate
// whole.
func (m Machine) RescueScan(ctx context.Context) (*Status, error) {
	devs, problems, err := m.rescueDevices()
	if err != nil {
		return nil, err
	}
	mounts, _ := ReadMountinfo(m.ProcDir)
	st := &Status{Problems: problems}
	seen := map[string]bool{}
	for _, d := range devs {
		if !rootFSTypes[d.FSType] {
			continue
		}
		var rec *Record
		err := m.withReadOnly(d, mounts, func(dir string) error {
			var err error
			rec, err = ReadRecord(dir)
			return err
		})
		if errors.Is(err, fs.ErrNotExist) {
			continue // no image's root
		}
		if err != nil {
			// One file system that cannot be read hides no image.
			st.Problems = append(st.Problems, unreadable(d, d.BackingFile, err))
			continue
		}
		if rec.ID == "" || seen[rec.ID] || !recordedOn(rec, d) {
			continue // not recorded yet, seen already, or a copy of another image's record
		}
		seen[rec.ID] = true
		img := &Image{Record: *rec, Disk: d.Disk, ImageFile: d.BackingFile}
		settleState(img, false) // no drd runs now: a clone or runcmd under way died mid-way
		st.Images = append(st.Images, img)
	}
	sort.SliceStable(st.Images, func(i, j int) bool { return st.Images[i].Name < st.Images[j].Name })
	if st.Boot, err = m.readBootStates(st); err != nil {
		return nil, err
	}
	if st.Boot != nil {
		st.Activated = st.Boot.Target()
	}
	return st, nil
}

// recordedOn reports whether rec names d's file system as the image's
// root (a clone that was copied but not yet fixed up still carries its
// origin's record).
func recordedOn(rec *Record, d BlockDev) bool {
	for _, f := range rec.FileSystems {
		if f.MountPoint == "/" {
			return f.UUID == "" || strings.EqualFold(f.UUID, d.ID.UUID)
		}
	}
	return true
}

// withReadOnly runs fn on the top directory of d's file system: where it
// is mounted already, else a private read-only mount without journal
// replay, undone after fn.
func (m Machine) withReadOnly(d BlockDev, mounts []MountInfo, fn func(dir string) error) error {
	for _, mi := range mounts {
		if mi.Major == d.Major && mi.Minor == d.Minor && mi.FSRoot == "/" {
			return fn(mi.MountPoint)
		}
	}
	return mount.With(mount.Spec{Source: d.Path, Type: d.FSType, Flags: mount.ReadOnly, Data: readOnlyData(d.FSType), Pattern: "drd-rescue-"}, fn)
}

// SetTarget makes the image name the boot target of every following boot
// from a rescue scan, as drd activate does for a lasting switch, with
// its code (switchTarget): drd's menu and block on every image's /boot,
// the records (name activated, any other activated image complete
// again), and on UEFI no BootNext and BootOrder.
func (m Machine) SetTarget(ctx context.Context, st *Status, name string, force bool, r report.Reporter) error {
	target := imageNamed(st, name)
	if target == nil {
		return fmt.Errorf("no image %s on this machine (%s)", name, imageNames(st))
	}
	if !bootable(target) {
		return fmt.Errorf("%s is %w", name, errNoBootFS)
	}
	if err := CheckActivatable(target, force); err != nil {
		return err
	}
	cur := BootState{Next: name}
	if st.Boot != nil {
		cur = *st.Boot
	}
	next, err := PlanActivate(cur, "", name, false, DefaultTries)
	if err != nil {
		return err
	}
	marks := []Mark{{Image: name, State: Activated, Action: "activate", Result: "succeeded", Detail: "boot target, set by STAGEISL"}}
	for _, img := range st.Images {
		if img.Name != name && img.State == Activated {
			marks = append(marks, Mark{Image: img.Name, State: Complete, Action: "deactivate", Result: "succeeded", Detail: name + " boots next, set by STAGEISL"})
		}
	}
	if err := m.switchTarget(st, next, []string{name}, marks, r); err != nil {
		return err
	}
	st.Boot, st.Activated = &next, name
	return nil
}

func imageNames(st *Status) string {
	var names []string
	for _, img := range st.Images {
		names = append(names, img.Name)
	}
	if len(names) == 0 {
		return "none found"
	}
	return "found: " + strings.Join(names, ", ")
}

// BootFiles is what boots an image as drd's menu boots it: paths of its
// kernel and initramfs ("" for none), and its command line.
type BootFiles struct {
	Kernel, Initrd, Cmdline string
}

// OpenBootFiles mounts img's boot file system read-only and returns its
// newest kernel, its initramfs and the command line drd.cfg gives it
// (root= of the image, the other arguments of this machine's own command
// line). release undoes the mount; its error names the file system and
// where it is mounted.
func (m Machine) OpenBootFiles(img *Image) (BootFiles, func() error, error) {
	f, prefix, ok := bootFS(img)
	if !ok {
		return BootFiles{}, nil, fmt.Errorf("%s is %w", img.Name, errNoBootFS)
	}
	dir, release, err := m.openFS(img, f.MountPoint, false)
	if err != nil {
		return BootFiles{}, nil, err
	}
	args := ""
	if b, err := os.ReadFile(filepath.Join(m.ProcDir, "cmdline")); err == nil {
		args = kernelArgs(string(b))
	}
	mi, err := menuImage(img, dir, args)
	if err != nil {
		return BootFiles{}, nil, errors.Join(err, release())
	}
	boot := filepath.Join(dir, strings.TrimPrefix(prefix, "/"))
	bf := BootFiles{Kernel: filepath.Join(boot, mi.Kernel), Cmdline: mi.Cmdline}
	if mi.Initrd != "" {
		bf.Initrd = filepath.Join(boot, mi.Initrd)
	}
	return bf, release, nil
}

// ReadImageFile reads the file at rel (e.g. /var/opt/drd/drd.log) in the
// root file system of img, mounted read-only while it reads.
func (m Machine) ReadImageFile(img *Image, rel string) (data []byte, err error) {
	dir, release, err := m.openFS(img, "/", false)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, release()) }()
	return os.ReadFile(filepath.Join(dir, rel))
}

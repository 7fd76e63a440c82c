package clone

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/drd-linux/drd/bootenv"
)

// onTarget tells whether a disk (or the image file behind it) is the
// clone's target: what is there now, the clone replaces.
type onTarget struct {
	disk string // the target block device; "" for an image file
	file string // the target image file, absolute; "" for a block device
}

func (t onTarget) holds(disk, backingFile string) bool {
	switch {
	case t.disk != "" && disk == t.disk:
		return true
	case t.file != "" && backingFile != "":
		return backingFile == t.file || sameFile(backingFile, t.file)
	}
	return false
}

// holdsRecorded tells whether target, as a record names it (a /dev path
// or an image file, maybe relative), is the clone's target.
func (t onTarget) holdsRecorded(target string) bool {
	disk, file := "", target
	if strings.HasPrefix(target, "/dev/") {
		disk, file = target, ""
	} else if abs, err := filepath.Abs(target); err == nil {
		file = abs
	}
	return t.holds(disk, file)
}

// takenNames are the image names a new clone must not get: the names of
// every image drd finds (st: the booted one, the clones, images whose
// clone died before its record, clones the records name whose disk or
// file is gone) and the names in the GPT partition names
// and file-system labels drd made (devs: also images of other systems
// and half-made ones), but for what is on the target, which the clone
// replaces.
func takenNames(st *bootenv.Status, devs bootenv.DeviceTable, t onTarget) map[string]bool {
	taken := map[string]bool{}
	replaced := map[string]bool{}
	for _, img := range st.Images {
		if !img.Booted && t.holds(img.Disk, img.ImageFile) {
			replaced[img.Name] = true
			continue
		}
		taken[img.Name] = true
	}
	for _, img := range st.Missing { // in the records only: the name stays taken until drd forget
		if t.holdsRecorded(img.Target) {
			replaced[img.Name] = true
			continue
		}
		taken[img.Name] = true
	}
	backing := map[string]string{} // disk -> its image file
	for _, d := range devs {
		if d.Path == d.Disk && d.BackingFile != "" {
			backing[d.Disk] = d.BackingFile
		}
	}
	var elsewhere []string
	for _, d := range devs {
		name := bootenv.NameOnDevice(d.ID)
		switch {
		case name == "":
		case t.holds(d.Disk, backing[d.Disk]):
			replaced[name] = true
		default:
			elsewhere = append(elsewhere, name)
		}
	}
	// A logical volume whose volume group is not active shows no disk:
	// its label names an image on the target if the scan found one there.
	for _, name := range elsewhere {
		if !replaced[name] {
			taken[name] = true
		}
	}
	return taken
}

// keptName is the name of the image of this system the clone replaces
// on its target (one drd lists, or one the records name whose disk or
// file is gone), "" when there is none.
func keptName(st *bootenv.Status, t onTarget) string {
	for _, img := range st.Images {
		if !img.Booted && t.holds(img.Disk, img.ImageFile) {
			return img.Name
		}
	}
	for _, img := range st.Missing {
		if t.holdsRecorded(img.Target) {
			return img.Name
		}
	}
	return ""
}

// pickName is the new clone's name: the name of the image it replaces
// when no other image, partition or label uses it (a clone again to the
// same target keeps its name, whatever names were freed meanwhile), else
// the lowest free one.
func pickName(taken map[string]bool, kept string) (string, error) {
	if kept != "" && !taken[kept] {
		return kept, nil
	}
	return bootenv.FreeName(taken)
}

// cloneName picks the new clone's name (pickName): the name of the image
// on the target, else the lowest one that no image, partition or label
// drd can find uses.
func cloneName(ctx context.Context, opt Options, t onTarget) (string, error) {
	m := bootenv.Machine{Root: opt.Root, SysDir: opt.SysDir, ProcDir: opt.ProcDir, Runner: opt.Runner}
	st, err := m.Scan(ctx)
	if err != nil {
		return "", fmt.Errorf("finding the image names in use: %w", err)
	}
	devs, err := bootenv.ReadDevices(opt.SysDir)
	if err != nil {
		return "", fmt.Errorf("finding the image names in use: %w", err)
	}
	return pickName(takenNames(st, devs, t), keptName(st, t))
}

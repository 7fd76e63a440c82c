package bootenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/drd-linux/drd/internal/execrun"
)

// runner is how m runs external programs (LVM's tools).
func (m Machine) runner() execrun.Runner {
	if m.Runner == nil {
		return execrun.Real{}
	}
	return m.Runner
}

// devices reads the device table and, when the machine has LVM physical
// or logical volumes, what LVM says of them (AddLVM). It is the thin
// reader Discover's input comes from.
func (m Machine) devices(ctx context.Context) (DeviceTable, *LVM, error) {
	devs, err := ReadDevices(m.SysDir)
	if err != nil {
		return nil, nil, err
	}
	active := lvmActive(m.SysDir, devs)
	pvs := false
	for _, d := range devs {
		pvs = pvs || d.FSType == "LVM2_member"
	}
	if !active && !pvs {
		return devs, &LVM{}, nil
	}
	lvm, err := ReadLVM(ctx, m.runner())
	if err != nil {
		if active {
			return nil, nil, fmt.Errorf("the machine has LVM logical volumes, but LVM's tools do not answer (install lvm2): %w", err)
		}
		return devs, &LVM{}, nil // PVs, but nothing active: nothing of LVM is mounted
	}
	return AddLVM(devs, lvm), lvm, nil
}

// HasActiveLVs tells whether the machine of sysDir has an active LVM
// logical volume.
func HasActiveLVs(sysDir string) bool {
	devs, err := ReadDevices(sysDir)
	return err == nil && lvmActive(sysDir, devs)
}

// lvmActive tells whether a device-mapper device of devs is an LVM
// logical volume: its dm/uuid in sysfs starts with "LVM-".
func lvmActive(sysDir string, devs DeviceTable) bool {
	for _, d := range devs {
		name := filepath.Base(d.Path)
		if !strings.HasPrefix(name, "dm-") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(sysDir, "class", "block", name, "dm", "uuid"))
		if err == nil && strings.HasPrefix(string(b), "LVM-") {
			return true
		}
	}
	return false
}

// pvPartName matches the GPT name of the partition holding a clone's VG.
var pvPartName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^drd-sysimage_\d{3}-lvm$`) })

// CloneVGs names the volume groups whose physical volumes are partitions
// drd made for a clone (drd-sysimage_NNN-lvm). Pure.
func CloneVGs(devs DeviceTable, lvm *LVM) []string {
	var out []string
	for _, pv := range lvm.PVs {
		if pv.VG == "" || slices.Contains(out, pv.VG) {
			continue
		}
		for _, d := range devs {
			if d.Path == pv.Path && pvPartName().MatchString(d.ID.PartLabel) {
				out = append(out, pv.VG)
			}
		}
	}
	return out
}

// OriginVGs are the volume groups that may hold the root of the image a
// booted clone was made from (originRoot: its file-system UUID) when no
// device shows that file system: every group without an active LV. Udev
// activates them at boot, but not always, and then the original image
// would be missing from the scan of the clone it made.
func OriginVGs(devs DeviceTable, lvm *LVM, originRoot string) []string {
	if originRoot == "" || lvm == nil || slices.ContainsFunc(devs, func(d BlockDev) bool { return strings.EqualFold(d.ID.UUID, originRoot) }) {
		return nil
	}
	var out []string
	for _, vg := range lvm.VGs {
		if !slices.ContainsFunc(lvm.LVsOf(vg.Name), LogicalVolume.Active) {
			out = append(out, vg.Name)
		}
	}
	return out
}

// ActivateVG makes the logical volumes of vg visible (vgchange -ay).
func (m Machine) ActivateVG(ctx context.Context, vg string) error {
	if _, err := m.runner().Run(ctx, "vgchange", "-ay", vg); err != nil {
		return fmt.Errorf("activating volume group %s: %w", vg, err)
	}
	return nil
}

// DeactivateVG removes the devices of the logical volumes of vg
// (vgchange -an); it fails while one of them is mounted.
func (m Machine) DeactivateVG(ctx context.Context, vg string) error {
	if _, err := m.runner().Run(ctx, "vgchange", "-an", vg); err != nil {
		return fmt.Errorf("deactivating volume group %s: %w", vg, err)
	}
	return nil
}

// activateWhileLooking activates those of vgs that have no active LV, so
// that the images on them can be read; the function it returns
// deactivates them again.
func (m Machine) activateWhileLooking(ctx context.Context, vgs []string, lvm *LVM) (func(), int, error) {
	var done []string
	release := func() {
		for _, vg := range done {
			m.DeactivateVG(context.WithoutCancel(ctx), vg)
		}
	}
	for _, vg := range vgs {
		if slices.ContainsFunc(lvm.LVsOf(vg), LogicalVolume.Active) {
			continue
		}
		if err := m.ActivateVG(ctx, vg); err != nil {
			return release, len(done), err
		}
		done = append(done, vg)
	}
	return release, len(done), nil
}

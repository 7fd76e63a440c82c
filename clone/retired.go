package clone

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/drd-linux/drd/bootenv"
)

// A retired image (drd commit made another image the base) may be
// cloned over without -x overwrite=true: the A/B rotation of two disks,
// maintenance window after maintenance window. The target must hold that
// image and nothing else.

// retiredOnDisk is what the target disk holds of a retired image.
type retiredOnDisk struct {
	image string   // the retired image that is on the disk, "" for none
	other []string // what else is on the disk: "partition 5 (xfs, label data)"
	vgs   []string // the retired image's volume groups on the disk
}

// retiredOnly decides whether disk holds one retired image of st and
// nothing else: each partition with a signature is a file system of that
// image (by UUID) or a physical volume of its volume group (whose LVs are
// all the image's, and whose PVs all lie on disk). A partition with no
// signature (the BIOS boot partition) holds nothing. Pure.
func retiredOnly(disk string, st *bootenv.Status, devs bootenv.DeviceTable, lvm *bootenv.LVM) retiredOnDisk {
	var best retiredOnDisk
	for _, img := range st.Images {
		if img.Booted || img.State != bootenv.Retired {
			continue
		}
		r := holds(disk, img, devs, lvm)
		if r.image != "" && len(r.other) == 0 {
			return r
		}
		if r.image != "" && best.image == "" {
			best = r
		}
	}
	return best
}

// holds says what of img disk holds (r.image set when it holds some of
// it) and what else.
func holds(disk string, img *bootenv.Image, devs bootenv.DeviceTable, lvm *bootenv.LVM) retiredOnDisk {
	r := retiredOnDisk{}
	uuids := map[string]bool{}
	lvs := map[string]bool{} // vg/lv
	var vgs []string
	for _, f := range img.FileSystems {
		if f.UUID != "" {
			uuids[strings.ToLower(f.UUID)] = true
		}
		if f.VG != "" {
			lvs[f.VG+"/"+f.LV] = true
			if !slices.Contains(vgs, f.VG) {
				vgs = append(vgs, f.VG)
			}
		}
	}
	mine := false
	for _, d := range devs {
		if d.Disk != disk || d.FSType == "" {
			continue
		}
		what := fmt.Sprintf("partition %d (%s%s)", d.Partition, d.FSType, labelText(d.ID.Label))
		if d.Partition == 0 {
			what = fmt.Sprintf("a %s file system on the whole disk%s", d.FSType, labelText(d.ID.Label))
		}
		switch {
		case d.Partition > 0 && d.FSType == "LVM2_member":
			vg := pvVG(lvm, d.Path)
			if vg == "" || !slices.Contains(vgs, vg) {
				r.other = append(r.other, what+" of volume group "+orText(vg, "none"))
				continue
			}
			mine = true
			if !slices.Contains(r.vgs, vg) {
				r.vgs = append(r.vgs, vg)
			}
			for _, lv := range lvm.LVsOf(vg) {
				if !lvs[vg+"/"+lv.Name] {
					r.other = append(r.other, fmt.Sprintf("logical volume %s/%s, not %s's", vg, lv.Name, img.Name))
				}
			}
			for _, pv := range lvm.PVsOf(vg) {
				if pv.Path != d.Path && !onDisk(devs, pv.Path, disk) {
					r.other = append(r.other, fmt.Sprintf("volume group %s also lives on %s", vg, pv.Path))
				}
			}
		case d.Partition > 0 && uuids[strings.ToLower(d.ID.UUID)]:
			mine = true
		default:
			r.other = append(r.other, what)
		}
	}
	if mine {
		r.image = img.Name
	}
	return r
}

func labelText(l string) string {
	if l == "" {
		return ""
	}
	return ", label " + l
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func pvVG(lvm *bootenv.LVM, path string) string {
	for _, pv := range lvm.PVs {
		if pv.Path == path {
			return pv.VG
		}
	}
	return ""
}

// retiredTarget reads what the target disk holds of a retired image: the
// scan of the images, the device table, LVM. A retired image's volume
// group that is active (LVM activates every VG it sees at boot) with no
// LV open is deactivated, so that the target is not in use: nothing uses
// a retired image.
func retiredTarget(ctx context.Context, opt Options, disk string) (retiredOnDisk, []string, error) {
	m := bootenv.Machine{Root: opt.Root, SysDir: opt.SysDir, ProcDir: opt.ProcDir, Runner: opt.Runner}
	st, err := m.Scan(ctx)
	if err != nil {
		return retiredOnDisk{}, nil, fmt.Errorf("looking for a retired image on %s: %w", disk, err)
	}
	devs, err := bootenv.ReadDevices(opt.SysDir)
	if err != nil {
		return retiredOnDisk{}, nil, err
	}
	lvm := &bootenv.LVM{}
	if slices.ContainsFunc(devs, func(d bootenv.BlockDev) bool { return d.Disk == disk && d.FSType == "LVM2_member" }) {
		if lvm, err = bootenv.ReadLVM(ctx, opt.Runner); err != nil {
			return retiredOnDisk{}, nil, fmt.Errorf("looking for a retired image on %s: %w", disk, err)
		}
	}
	r := retiredOnly(disk, st, devs, lvm)
	var deactivated []string
	if r.image == "" || len(r.other) > 0 {
		return r, nil, nil
	}
	for _, vg := range r.vgs {
		active, open := false, false
		for _, lv := range lvm.LVsOf(vg) {
			active = active || lv.Active()
			open = open || lv.Open()
		}
		if !active || open {
			continue
		}
		if err := m.DeactivateVG(ctx, vg); err != nil {
			return r, deactivated, fmt.Errorf("%s is retired, but its volume group %s on %s could not be deactivated: %w", r.image, vg, disk, err)
		}
		deactivated = append(deactivated, vg)
	}
	return r, deactivated, nil
}

// onDisk tells whether the device at path lies on disk.
func onDisk(devs bootenv.DeviceTable, path, disk string) bool {
	for _, d := range devs {
		if d.Path == path {
			return d.Disk == disk
		}
	}
	return false
}

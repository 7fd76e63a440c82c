package bootenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/drd-linux/drd/images/lvm2"
)

// Rescue mode has no LVM tools (STAGEISL, docs/isl.md): the volume
// groups are read from their physical volumes (images/lvm2) and their
// linear and striped logical volumes made with device-mapper ioctls,
// under the names LVM gives them, so that the images on them are found
// like those on partitions.

// Mapper creates device-mapper devices: lvm2.Mapper on the machine
// (wired by cmd/stageisl), a fake in tests.
type Mapper interface {
	Create(d lvm2.Device) (major, minor uint32, err error)
}

// rescueDevices reads the device table and activates the logical
// volumes of every volume group whose physical volumes it shows (when
// m.Mapper is set), the LVs told their VG and LV (AddLVM). An incomplete
// VG, an LV that cannot be made, metadata that cannot be read are
// problems (Status.Problems): the images elsewhere are still found.
func (m Machine) rescueDevices() (DeviceTable, []Problem, error) {
	devs, err := ReadDevices(m.SysDir)
	if err != nil {
		return nil, nil, err
	}
	var found []lvm2.Found
	var problems []Problem
	for _, d := range devs {
		if d.FSType != "LVM2_member" {
			continue
		}
		pv, err := readPV(d)
		if err != nil {
			problems = append(problems, unreadablePV(d.Path, err))
			continue
		}
		found = append(found, lvm2.Found{Path: d.Path, Dev: fmt.Sprintf("%d:%d", d.Major, d.Minor), PV: pv})
	}
	if len(found) == 0 {
		return devs, problems, nil
	}
	lvm, p := activateLVM(found, m.mapperNames(devs), m.Mapper)
	problems = append(problems, p...)
	if devs, err = ReadDevices(m.SysDir); err != nil {
		return nil, nil, err
	}
	return AddLVM(devs, lvm), problems, nil
}

// unreadablePV is the problem of an LVM physical volume whose label or
// metadata cannot be read.
func unreadablePV(path string, err error) Problem {
	return Problem{Kind: LVMUnreadable, What: "LVM physical volume " + path, Device: path, Why: err.Error(),
		Action: fmt.Sprintf("check the disk and the kernel's messages (dmesg); the logical volumes of its volume group are not made, the images elsewhere are listed; pvck %s on a system with LVM's tools says more", path)}
}

func readPV(d BlockDev) (lvm2.PV, error) {
	f, err := os.Open(d.Path)
	if err != nil {
		return lvm2.PV{}, err
	}
	defer f.Close()
	return lvm2.ReadPV(f, d.Size)
}

// mapperNames maps the name of each device-mapper device of devs to its
// number (sysfs block/dm-N/dm/name).
func (m Machine) mapperNames(devs DeviceTable) map[string][2]uint32 {
	out := map[string][2]uint32{}
	for _, d := range devs {
		name := filepath.Base(d.Path)
		if !strings.HasPrefix(name, "dm-") {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(m.SysDir, "class/block", name, "dm/name")); err == nil {
			out[strings.TrimSpace(string(b))] = [2]uint32{d.Major, d.Minor}
		}
	}
	return out
}

// activateLVM assembles the volume groups of found, makes the device of
// each LV that existing (device-mapper name → number) lacks with mapper
// (nil: none made), and says what LVM would report of them, and what it
// could not do (problems). Pure but for mapper.
func activateLVM(found []lvm2.Found, existing map[string][2]uint32, mapper Mapper) (*LVM, []Problem) {
	groups, errs := lvm2.Assemble(found)
	var problems []Problem
	for _, err := range errs {
		problems = append(problems, unreadablePV(err.Path, err.Err))
	}
	notMade := func(vg, lv, why string) Problem {
		return Problem{Kind: LVNotActivated, What: "logical volume " + vg + "/" + lv, Why: why,
			Action: "an image on it is not listed here: if a disk of the volume group is missing, attach it; otherwise (a thin, RAID, mirror, cache or snapshot LV, which STAGEISL does not make) boot a system with LVM's tools and run vgchange -ay " + vg}
	}
	lvm := &LVM{}
	for _, g := range groups {
		vg := g.VG
		lvm.VGs = append(lvm.VGs, VolumeGroup{Name: vg.Name, UUID: vg.ID, ExtentSize: vg.ExtentSize * 512})
		for _, p := range vg.PVs {
			if path, ok := g.Paths[p.ID]; ok {
				lvm.PVs = append(lvm.PVs, PhysicalVolume{Path: path, VG: vg.Name})
			}
		}
		for _, p := range g.Missing {
			where := ""
			if p.Device != "" {
				where = " (last seen as " + p.Device + ")"
			}
			problems = append(problems, Problem{Kind: VGIncomplete, What: "volume group " + vg.Name,
				Why:    fmt.Sprintf("physical volume %s%s is missing", p.ID, where),
				Action: "attach its disk (is it unplugged, or failed?); its logical volumes on the other disks are activated"})
		}
		devices, skipped := lvm2.Tables(vg, g.PVs)
		for _, s := range skipped {
			problems = append(problems, notMade(vg.Name, s.LV, s.Reason))
		}
		for _, d := range devices {
			num, ok := existing[d.Name]
			if !ok && mapper != nil {
				major, minor, err := mapper.Create(d)
				if err != nil {
					problems = append(problems, notMade(vg.Name, d.LV, err.Error()))
					continue
				}
				num, ok = [2]uint32{major, minor}, true
			}
			lv := LogicalVolume{VG: vg.Name, Name: d.LV, Attr: "-wi-a-----", Major: -1, Minor: -1}
			if ok {
				lv.Major, lv.Minor = int64(num[0]), int64(num[1])
			}
			for _, t := range d.Targets {
				lv.Size += t.Length * 512
			}
			lvm.LVs = append(lvm.LVs, lv)
		}
	}
	return lvm, problems
}

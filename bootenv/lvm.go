package bootenv

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/drd-linux/drd/internal/execrun"
)

// LVM facts, as LVM itself reports them (lvs, vgs, pvs with
// --reportformat json --units b --nosuffix), parsed by pure functions.

// VolumeGroup is one LVM volume group.
type VolumeGroup struct {
	Name        string
	UUID        string
	Size, Free  int64 // bytes
	ExtentSize  int64 // bytes
	FreeExtents int64
}

// LogicalVolume is one LVM logical volume.
type LogicalVolume struct {
	VG, Name, UUID string
	Size           int64  // bytes
	Attr           string // lv_attr: -wi-ao----; s… for a snapshot
	Origin         string // the LV a snapshot is of
	Major, Minor   int64  // kernel device number; -1 when not active
}

// Active reports whether the LV has a kernel device now.
func (lv LogicalVolume) Active() bool { return lv.Major >= 0 && lv.Minor >= 0 }

// IsSnapshot reports whether the LV is a (thick) snapshot of another.
func (lv LogicalVolume) IsSnapshot() bool { return lv.Origin != "" || strings.HasPrefix(lv.Attr, "s") }

// Open reports whether the LV's device is open (mounted, in use).
func (lv LogicalVolume) Open() bool { return len(lv.Attr) > 5 && lv.Attr[5] == 'o' }

// PhysicalVolume is one LVM physical volume.
type PhysicalVolume struct {
	Path string // /dev/vda4
	VG   string // "" when in no VG
	Size int64
}

// LVM is what LVM reports of the machine.
type LVM struct {
	VGs []VolumeGroup
	LVs []LogicalVolume
	PVs []PhysicalVolume
}

// VG finds a volume group by name.
func (l *LVM) VG(name string) (VolumeGroup, bool) {
	for _, v := range l.VGs {
		if v.Name == name {
			return v, true
		}
	}
	return VolumeGroup{}, false
}

// LVsOf lists the logical volumes of VG vg.
func (l *LVM) LVsOf(vg string) []LogicalVolume {
	var out []LogicalVolume
	for _, lv := range l.LVs {
		if lv.VG == vg {
			out = append(out, lv)
		}
	}
	return out
}

// PVsOf lists the physical volumes of VG vg.
func (l *LVM) PVsOf(vg string) []PhysicalVolume {
	var out []PhysicalVolume
	for _, pv := range l.PVs {
		if pv.VG == vg {
			out = append(out, pv)
		}
	}
	return out
}

// The fields drd asks of lvs, vgs and pvs.
const (
	LVFields = "vg_name,lv_name,lv_uuid,lv_size,lv_attr,origin,lv_kernel_major,lv_kernel_minor"
	VGFields = "vg_name,vg_uuid,vg_size,vg_free,vg_extent_size,vg_free_count"
	PVFields = "pv_name,vg_name,pv_size"
)

// ReportArgs are the arguments of an LVM report command (lvs, vgs, pvs)
// asking for fields as JSON, sizes in bytes.
func ReportArgs(fields string) []string {
	return []string{"--reportformat", "json", "--units", "b", "--nosuffix", "-o", fields}
}

// reportRows reads the rows of section key ("lv", "vg", "pv") of an LVM
// JSON report.
func reportRows(data []byte, key string) ([]map[string]string, error) {
	var r struct {
		Report []map[string][]map[string]string `json:"report"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("reading the LVM %s report: %w", key, err)
	}
	var rows []map[string]string
	for _, sec := range r.Report {
		rows = append(rows, sec[key]...)
	}
	return rows, nil
}

// lvmNumber parses a number of an LVM report: "3221225472", "3221225472B",
// "-1", "" (0).
func lvmNumber(row map[string]string, field string) (int64, error) {
	s := strings.TrimSuffix(strings.TrimSpace(row[field]), "B")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("field %s: %q is not a number of bytes (run with --units b)", field, row[field])
	}
	return n, nil
}

// ParseLVs parses `lvs --reportformat json --units b --nosuffix -o LVFields`.
func ParseLVs(data []byte) ([]LogicalVolume, error) {
	rows, err := reportRows(data, "lv")
	if err != nil {
		return nil, err
	}
	var out []LogicalVolume
	for _, r := range rows {
		lv := LogicalVolume{VG: r["vg_name"], Name: r["lv_name"], UUID: r["lv_uuid"], Attr: r["lv_attr"], Origin: r["origin"]}
		var errs [3]error
		lv.Size, errs[0] = lvmNumber(r, "lv_size")
		lv.Major, errs[1] = lvmNumber(r, "lv_kernel_major")
		lv.Minor, errs[2] = lvmNumber(r, "lv_kernel_minor")
		if r["lv_kernel_major"] == "" {
			lv.Major, lv.Minor = -1, -1
		}
		for _, e := range errs {
			if e != nil {
				return nil, fmt.Errorf("logical volume %s/%s: %w", lv.VG, lv.Name, e)
			}
		}
		if lv.VG == "" || lv.Name == "" {
			return nil, fmt.Errorf("the lvs report has a volume without vg_name or lv_name: %v", r)
		}
		out = append(out, lv)
	}
	return out, nil
}

// ParseVGs parses `vgs --reportformat json --units b --nosuffix -o VGFields`.
func ParseVGs(data []byte) ([]VolumeGroup, error) {
	rows, err := reportRows(data, "vg")
	if err != nil {
		return nil, err
	}
	var out []VolumeGroup
	for _, r := range rows {
		vg := VolumeGroup{Name: r["vg_name"], UUID: r["vg_uuid"]}
		var errs [4]error
		vg.Size, errs[0] = lvmNumber(r, "vg_size")
		vg.Free, errs[1] = lvmNumber(r, "vg_free")
		vg.ExtentSize, errs[2] = lvmNumber(r, "vg_extent_size")
		vg.FreeExtents, errs[3] = lvmNumber(r, "vg_free_count")
		for _, e := range errs {
			if e != nil {
				return nil, fmt.Errorf("volume group %s: %w", vg.Name, e)
			}
		}
		if vg.Name == "" {
			return nil, fmt.Errorf("the vgs report has a group without vg_name: %v", r)
		}
		out = append(out, vg)
	}
	return out, nil
}

// ParsePVs parses `pvs --reportformat json --units b --nosuffix -o PVFields`.
func ParsePVs(data []byte) ([]PhysicalVolume, error) {
	rows, err := reportRows(data, "pv")
	if err != nil {
		return nil, err
	}
	var out []PhysicalVolume
	for _, r := range rows {
		pv := PhysicalVolume{Path: r["pv_name"], VG: r["vg_name"]}
		var err error
		if pv.Size, err = lvmNumber(r, "pv_size"); err != nil {
			return nil, fmt.Errorf("physical volume %s: %w", pv.Path, err)
		}
		out = append(out, pv)
	}
	return out, nil
}

// DMName is the device-mapper name LVM gives LV lv of VG vg: dashes in
// either name are doubled, one dash joins them (vg-lv, my--vg-my--lv).
func DMName(vg, lv string) string {
	return strings.ReplaceAll(vg, "-", "--") + "-" + strings.ReplaceAll(lv, "-", "--")
}

// AddLVM tells each active logical volume of devs its VG and LV name, and
// the disk of its VG's first physical volume as its disk. Pure.
func AddLVM(devs DeviceTable, lvm *LVM) DeviceTable {
	out := append(DeviceTable(nil), devs...)
	byPath := map[string]BlockDev{}
	for _, d := range devs {
		byPath[d.Path] = d
	}
	for _, lv := range lvm.LVs {
		if !lv.Active() {
			continue
		}
		for i, d := range out {
			if int64(d.Major) != lv.Major || int64(d.Minor) != lv.Minor {
				continue
			}
			out[i].ID.VG, out[i].ID.LV = lv.VG, lv.Name
			for _, pv := range lvm.PVsOf(lv.VG) {
				if p, ok := byPath[pv.Path]; ok {
					out[i].Disk = p.Disk
					break
				}
			}
		}
	}
	return out
}

// ReadLVM asks LVM (lvs, vgs, pvs through r) for its volume groups,
// logical and physical volumes.
func ReadLVM(ctx context.Context, r execrun.Runner) (*LVM, error) {
	var l LVM
	out, err := r.Run(ctx, "vgs", ReportArgs(VGFields)...)
	if err != nil {
		return nil, fmt.Errorf("listing LVM volume groups: %w", err)
	}
	if l.VGs, err = ParseVGs(out); err != nil {
		return nil, err
	}
	if out, err = r.Run(ctx, "lvs", ReportArgs(LVFields)...); err != nil {
		return nil, fmt.Errorf("listing LVM logical volumes: %w", err)
	}
	if l.LVs, err = ParseLVs(out); err != nil {
		return nil, err
	}
	if out, err = r.Run(ctx, "pvs", ReportArgs(PVFields)...); err != nil {
		return nil, fmt.Errorf("listing LVM physical volumes: %w", err)
	}
	if l.PVs, err = ParsePVs(out); err != nil {
		return nil, err
	}
	return &l, nil
}

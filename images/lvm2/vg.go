package lvm2

import (
	"fmt"
	"slices"
	"strings"
)

// VG is a volume group as its metadata describes it.
type VG struct {
	Name       string
	ID         string // dashed UUID
	Seqno      int64
	ExtentSize int64 // sectors
	PVs        []PVRef
	LVs        []LV
}

// PVRef is a physical volume of a VG's metadata.
type PVRef struct {
	Key     string // pv0, pv1: how segments name it
	ID      string // the UUID in its label
	Device  string // the device it was last seen on (a hint only)
	PEStart int64  // sectors: where its first extent starts
	PECount int64
}

// LV is a logical volume.
type LV struct {
	Name, ID string
	Visible  bool // hidden LVs are parts of others (RAID images, pools)
	Segments []Segment
}

// Segment maps extents of an LV to extents of PVs.
type Segment struct {
	StartExtent, ExtentCount int64
	Type                     string // striped (linear is striped over 1), thin, raid1, …
	StripeSize               int64  // sectors, striped over more than one PV
	Stripes                  []Stripe
}

// Stripe is where one stripe of a segment starts: PV key and extent.
type Stripe struct {
	PV     string
	Extent int64
}

// maxCount bounds extent sizes and counts (LVM keeps them in 32 bits),
// so that offsets in sectors stay far inside int64.
const maxCount = 1 << 32

// ParseVG parses a PV's text metadata into its volume group.
func ParseVG(text []byte) (*VG, error) {
	top, err := parseText(text)
	if err != nil {
		return nil, fmt.Errorf("LVM2 metadata: %w", err)
	}
	if len(top.subs) != 1 {
		return nil, fmt.Errorf("LVM2 metadata: %d volume groups where one is expected", len(top.subs))
	}
	s := top.subs[0].sec
	vg := &VG{Name: top.subs[0].name}
	var ok bool
	if vg.ID, ok = s.str("id"); !ok {
		return nil, fmt.Errorf("LVM2 metadata of volume group %s: no id", vg.Name)
	}
	vg.Seqno, _ = s.num("seqno")
	if vg.ExtentSize, ok = s.num("extent_size"); !ok || vg.ExtentSize <= 0 || vg.ExtentSize > maxCount {
		return nil, fmt.Errorf("LVM2 metadata of volume group %s: no extent_size, or one out of range", vg.Name)
	}
	if pvs := s.sub("physical_volumes"); pvs != nil {
		for _, n := range pvs.subs {
			p := PVRef{Key: n.name}
			p.ID, _ = n.sec.str("id")
			p.Device, _ = n.sec.str("device")
			p.PEStart, _ = n.sec.num("pe_start")
			p.PECount, _ = n.sec.num("pe_count")
			if p.ID == "" || p.PEStart < 0 || p.PECount < 0 || p.PEStart > maxCount<<16 || p.PECount > maxCount {
				return nil, fmt.Errorf("LVM2 metadata of volume group %s: physical volume %s has no id, or pe_start/pe_count out of range", vg.Name, n.name)
			}
			vg.PVs = append(vg.PVs, p)
		}
	}
	if lvs := s.sub("logical_volumes"); lvs != nil {
		for _, n := range lvs.subs {
			lv, err := parseLV(n)
			if err != nil {
				return nil, fmt.Errorf("LVM2 metadata of volume group %s: %w", vg.Name, err)
			}
			vg.LVs = append(vg.LVs, lv)
		}
	}
	return vg, nil
}

func parseLV(n named) (LV, error) {
	lv := LV{Name: n.name}
	lv.ID, _ = n.sec.str("id")
	lv.Visible = slices.Contains(n.sec.strs("status"), "VISIBLE")
	count, _ := n.sec.num("segment_count")
	if count < 0 || count > int64(len(n.sec.subs)) {
		return lv, fmt.Errorf("logical volume %s: segment_count %d but %d sections", n.name, count, len(n.sec.subs))
	}
	for i := int64(1); i <= count; i++ {
		ss := n.sec.sub(fmt.Sprintf("segment%d", i))
		if ss == nil {
			return lv, fmt.Errorf("logical volume %s: no segment%d", n.name, i)
		}
		var seg Segment
		seg.StartExtent, _ = ss.num("start_extent")
		seg.ExtentCount, _ = ss.num("extent_count")
		seg.Type, _ = ss.str("type")
		seg.StripeSize, _ = ss.num("stripe_size")
		if seg.StartExtent < 0 || seg.ExtentCount <= 0 || seg.StartExtent > maxCount || seg.ExtentCount > maxCount {
			return lv, fmt.Errorf("logical volume %s: segment%d has start_extent %d, extent_count %d", n.name, i, seg.StartExtent, seg.ExtentCount)
		}
		if seg.Type == "striped" || seg.Type == "linear" {
			l := ss.list("stripes")
			if len(l) == 0 || len(l)%2 != 0 {
				return lv, fmt.Errorf("logical volume %s: segment%d's stripes are not pairs of PV and extent", n.name, i)
			}
			for j := 0; j < len(l); j += 2 {
				pv, ok1 := l[j].(string)
				ext, ok2 := l[j+1].(int64)
				if !ok1 || !ok2 || ext < 0 {
					return lv, fmt.Errorf("logical volume %s: segment%d's stripe %d is not a PV and an extent", n.name, i, j/2)
				}
				seg.Stripes = append(seg.Stripes, Stripe{PV: pv, Extent: ext})
			}
			if len(seg.Stripes) > 1 && seg.StripeSize <= 0 {
				return lv, fmt.Errorf("logical volume %s: segment%d is striped without a stripe_size", n.name, i)
			}
		}
		lv.Segments = append(lv.Segments, seg)
	}
	return lv, nil
}

// Target is one line of a device-mapper table: Length sectors from
// Start, of target Type with Params.
type Target struct {
	Start, Length int64
	Type, Params  string
}

// Device is a device-mapper device to create for an LV: the name and
// UUID LVM itself gives it (so that lvm and udev know it), and its table.
type Device struct {
	LV, Name, UUID string
	Targets        []Target
}

// Skipped is an LV that is not activated, and why.
type Skipped struct {
	LV, Reason string
}

// Tables gives the device-mapper devices of vg's visible LVs. pvs maps
// the UUID of each PV present to its device number ("major:minor").
// An LV that uses a PV not present, or a segment type other than
// striped (linear), is skipped with its reason; the others are
// activated: an incomplete VG loses only the LVs on its missing disks.
// Pure.
func Tables(vg *VG, pvs map[string]string) ([]Device, []Skipped) {
	ref := map[string]PVRef{}
	for _, p := range vg.PVs {
		ref[p.Key] = p
	}
	var devs []Device
	var skipped []Skipped
lvs:
	for _, lv := range vg.LVs {
		if !lv.Visible {
			continue
		}
		d := Device{LV: lv.Name, Name: DMName(vg.Name, lv.Name), UUID: "LVM-" + strings.ReplaceAll(vg.ID, "-", "") + strings.ReplaceAll(lv.ID, "-", "")}
		next := int64(0)
		for _, seg := range lv.Segments {
			if seg.Type != "striped" && seg.Type != "linear" {
				skipped = append(skipped, Skipped{lv.Name, fmt.Sprintf("its segment type %s is not linear or striped", seg.Type)})
				continue lvs
			}
			if seg.StartExtent != next {
				skipped = append(skipped, Skipped{lv.Name, fmt.Sprintf("its segments leave a gap at extent %d", next)})
				continue lvs
			}
			next = seg.StartExtent + seg.ExtentCount
			var parts []string
			for _, st := range seg.Stripes {
				p, ok := ref[st.PV]
				if !ok {
					skipped = append(skipped, Skipped{lv.Name, fmt.Sprintf("it names physical volume %s, which the metadata lacks", st.PV)})
					continue lvs
				}
				per := seg.ExtentCount / int64(len(seg.Stripes))
				if st.Extent > p.PECount-per {
					skipped = append(skipped, Skipped{lv.Name, fmt.Sprintf("its extents %d-%d on physical volume %s are outside its %d extents: the metadata is damaged", st.Extent, st.Extent+per-1, p.ID, p.PECount)})
					continue lvs
				}
				dev, ok := pvs[p.ID]
				if !ok {
					where := ""
					if p.Device != "" {
						where = " (last seen as " + p.Device + ")"
					}
					skipped = append(skipped, Skipped{lv.Name, fmt.Sprintf("its physical volume %s%s is missing", p.ID, where)})
					continue lvs
				}
				parts = append(parts, fmt.Sprintf("%s %d", dev, p.PEStart+st.Extent*vg.ExtentSize))
			}
			t := Target{Start: seg.StartExtent * vg.ExtentSize, Length: seg.ExtentCount * vg.ExtentSize}
			if len(parts) == 1 {
				t.Type, t.Params = "linear", parts[0]
			} else {
				t.Type, t.Params = "striped", fmt.Sprintf("%d %d %s", len(parts), seg.StripeSize, strings.Join(parts, " "))
			}
			d.Targets = append(d.Targets, t)
		}
		if len(d.Targets) == 0 {
			skipped = append(skipped, Skipped{lv.Name, "it has no segments"})
			continue
		}
		devs = append(devs, d)
	}
	return devs, skipped
}

// DMName is the device-mapper name LVM gives LV lv of VG vg: dashes in
// either name are doubled, one dash joins them (vg-lv, my--vg-my--lv).
func DMName(vg, lv string) string {
	return strings.ReplaceAll(vg, "-", "--") + "-" + strings.ReplaceAll(lv, "-", "--")
}

// Found is a physical volume found on a device.
type Found struct {
	Path string // /dev/vdb3
	Dev  string // major:minor
	PV   PV
}

// Group is a volume group and the devices of its PVs present.
type Group struct {
	VG      *VG
	PVs     map[string]string // PV UUID → major:minor, those present
	Paths   map[string]string // PV UUID → path, those present
	Missing []PVRef
}

// PVError is what is wrong with one physical volume (its metadata does
// not parse): the others go on.
type PVError struct {
	Path string // the PV's device
	Err  error
}

func (e *PVError) Error() string { return "physical volume " + e.Path + ": " + e.Err.Error() }
func (e *PVError) Unwrap() error { return e.Err }

// Assemble groups the physical volumes found by volume group, each
// described by the newest metadata (highest seqno) among its PVs. PVs
// without metadata join the group whose metadata names them; metadata
// that does not parse is an error of that PV (a *PVError), and the
// others go on.
func Assemble(found []Found) ([]Group, []*PVError) {
	var errs []*PVError
	byID := map[string]*VG{}
	var order []string
	for _, f := range found {
		if len(f.PV.Metadata) == 0 {
			continue
		}
		vg, err := ParseVG(f.PV.Metadata)
		if err != nil {
			errs = append(errs, &PVError{Path: f.Path, Err: err})
			continue
		}
		if cur, ok := byID[vg.ID]; !ok {
			order = append(order, vg.ID)
			byID[vg.ID] = vg
		} else if vg.Seqno > cur.Seqno {
			byID[vg.ID] = vg
		}
	}
	var out []Group
	for _, id := range order {
		g := Group{VG: byID[id], PVs: map[string]string{}, Paths: map[string]string{}}
		for _, p := range g.VG.PVs {
			i := slices.IndexFunc(found, func(f Found) bool { return f.PV.UUID == p.ID })
			if i < 0 {
				g.Missing = append(g.Missing, p)
				continue
			}
			g.PVs[p.ID], g.Paths[p.ID] = found[i].Dev, found[i].Path
		}
		out = append(out, g)
	}
	return out, errs
}

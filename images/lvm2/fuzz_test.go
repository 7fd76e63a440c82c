package lvm2

import (
	"bytes"
	"testing"
)

// FuzzReadPV: whatever a device holds, ReadPV, ParseVG and Tables fail
// by error only, and every table they give lies inside the LV's extents.
func FuzzReadPV(f *testing.F) {
	f.Add(fixture(f, "pv1.img.gz")[:8192])
	f.Add(make([]byte, 2048))
	f.Fuzz(func(t *testing.T, b []byte) {
		pv, err := ReadPV(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		vg, err := ParseVG(pv.Metadata)
		if err != nil {
			return
		}
		pvs := map[string]string{}
		for _, p := range vg.PVs {
			pvs[p.ID] = "8:1"
		}
		devs, _ := Tables(vg, pvs)
		for _, d := range devs {
			for _, tg := range d.Targets {
				if tg.Length <= 0 || tg.Start < 0 || tg.Start+tg.Length > maxCount*vg.ExtentSize {
					t.Errorf("%s: target %+v", d.Name, tg)
				}
			}
		}
	})
}

// FuzzParseVG: any text metadata parses or fails by error.
func FuzzParseVG(f *testing.F) {
	pv, err := ReadPV(bytes.NewReader(fixture(f, "pv1.img.gz")), 1<<20)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pv.Metadata)
	f.Add([]byte(`vg { id = "x" extent_size = 1 logical_volumes { a { status = ["VISIBLE"] segment_count = 1 segment1 { start_extent = 0 extent_count = 1 type = "striped" stripes = ["pv0", 0] } } } }`))
	f.Fuzz(func(t *testing.T, b []byte) {
		vg, err := ParseVG(b)
		if err != nil {
			return
		}
		Tables(vg, map[string]string{})
	})
}

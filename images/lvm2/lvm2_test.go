package lvm2

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The fixtures are the first MiB of two PVs made with LVM 2.03.16
// (pvcreate; vgcreate -s 1M drdtest_isllvm; lvcreate -an -Zn: root 8
// extents on pv0 and 4 on pv1, var 4 on pv1, stripe 8 over both with
// -i 2 -I 64k).
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	pv1UUID = "dcgO3z-WP8P-cTKA-yguc-Et48-QL9G-aJ3OzI"
	pv2UUID = "HHhUwY-NZEP-GdAS-4rGI-JSFy-teTb-86SkOO"
)

func readFixtures(t *testing.T) []Found {
	var found []Found
	for i, name := range []string{"pv1.img.gz", "pv2.img.gz"} {
		b := fixture(t, name)
		// The fixture is the device's first MiB; the label records 64 MiB.
		pv, err := ReadPV(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		found = append(found, Found{Path: "/dev/vd" + string(rune('b'+i)), Dev: []string{"254:16", "254:32"}[i], PV: pv})
	}
	return found
}

func TestReadPVFixtures(t *testing.T) {
	found := readFixtures(t)
	if found[0].PV.UUID != pv1UUID || found[1].PV.UUID != pv2UUID {
		t.Errorf("UUIDs %s, %s; want %s, %s", found[0].PV.UUID, found[1].PV.UUID, pv1UUID, pv2UUID)
	}
	if found[0].PV.DevSize != 64<<20 {
		t.Errorf("device size %d, want %d", found[0].PV.DevSize, 64<<20)
	}
	groups, errs := Assemble(found)
	if len(errs) > 0 || len(groups) != 1 {
		t.Fatalf("groups %v, errors %v", groups, errs)
	}
	vg := groups[0].VG
	if vg.Name != "drdtest_isllvm" || vg.ExtentSize != 2048 || len(vg.PVs) != 2 || len(groups[0].Missing) != 0 {
		t.Fatalf("volume group %+v, missing %v", vg, groups[0].Missing)
	}
	devs, skipped := Tables(vg, groups[0].PVs)
	if len(skipped) > 0 {
		t.Errorf("skipped %v", skipped)
	}
	got := map[string][]Target{}
	for _, d := range devs {
		got[d.Name] = d.Targets
		if !strings.HasPrefix(d.UUID, "LVM-") || len(d.UUID) != 4+64 {
			t.Errorf("%s: UUID %q is not LVM-<vg uuid><lv uuid>", d.Name, d.UUID)
		}
	}
	// pe_start 2048 sectors, extents of 2048 sectors.
	want := map[string][]Target{
		"drdtest_isllvm-root": {
			{0, 8 * 2048, "linear", "254:16 2048"},
			{8 * 2048, 4 * 2048, "linear", "254:32 " + strconv.Itoa(2048+4*2048)},
		},
		"drdtest_isllvm-var":    {{0, 4 * 2048, "linear", "254:32 2048"}},
		"drdtest_isllvm-stripe": {{0, 8 * 2048, "striped", "2 128 254:16 " + strconv.Itoa(2048+8*2048) + " 254:32 " + strconv.Itoa(2048+8*2048)}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tables\n got %v\nwant %v", got, want)
	}
}

// A VG whose second PV is gone: the LVs wholly on the first are still
// activated; those touching the missing one are skipped with the PV's
// UUID and last device.
func TestIncompleteVG(t *testing.T) {
	found := readFixtures(t)[:1]
	groups, errs := Assemble(found)
	if len(errs) > 0 || len(groups) != 1 {
		t.Fatalf("groups %v, errors %v", groups, errs)
	}
	g := groups[0]
	if len(g.Missing) != 1 || g.Missing[0].ID != pv2UUID {
		t.Fatalf("missing %v, want %s", g.Missing, pv2UUID)
	}
	devs, skipped := Tables(g.VG, g.PVs)
	if len(devs) != 0 {
		t.Errorf("devices %v: every LV of the fixture touches the missing PV", devs)
	}
	if len(skipped) != 3 {
		t.Fatalf("skipped %v, want root, var and stripe", skipped)
	}
	for _, s := range skipped {
		if !strings.Contains(s.Reason, pv2UUID) || !strings.Contains(s.Reason, "missing") {
			t.Errorf("%s: reason %q names not the missing PV", s.LV, s.Reason)
		}
	}
	// Only the first PV's LV: activated.
	vg := *g.VG
	vg.LVs = []LV{{Name: "home", ID: "x", Visible: true, Segments: []Segment{{0, 2, "striped", 0, []Stripe{{"pv0", 3}}}}}}
	devs, skipped = Tables(&vg, g.PVs)
	if len(devs) != 1 || len(skipped) != 0 || devs[0].Targets[0].Params != "254:16 "+strconv.Itoa(2048+3*2048) {
		t.Errorf("devices %v, skipped %v", devs, skipped)
	}
}

// The newest metadata wins: a PV that missed the last change (lower
// seqno) does not hide it.
func TestAssembleNewestSeqno(t *testing.T) {
	found := readFixtures(t)
	old := strings.Replace(string(found[0].PV.Metadata), "seqno = ", "seqno = 1", 1) // 1N > N
	found[1].PV.Metadata = []byte(strings.Replace(string(found[1].PV.Metadata), "var {", "gone {", 1))
	found[0].PV.Metadata = []byte(old)
	groups, _ := Assemble(found)
	if len(groups) != 1 || groups[0].VG.LVs[len(groups[0].VG.LVs)-1].Name == "gone" {
		t.Fatalf("the metadata of the higher seqno lost: %+v", groups)
	}
	for _, lv := range groups[0].VG.LVs {
		if lv.Name == "gone" {
			t.Errorf("the older metadata was taken")
		}
	}
}

func TestReadPVNoLabel(t *testing.T) {
	if _, err := ReadPV(bytes.NewReader(make([]byte, 4096)), 4096); err != ErrNoLabel {
		t.Errorf("zeros: %v, want ErrNoLabel", err)
	}
}

// Damaged metadata (a flipped byte) fails the checksum and is not used.
func TestReadPVChecksum(t *testing.T) {
	b := fixture(t, "pv1.img.gz")
	i := bytes.LastIndex(b, []byte("drdtest_isllvm {")) // the newest copy in the ring
	if i < 0 {
		t.Fatal("no metadata text in the fixture")
	}
	b[i+3] ^= 0x20
	_, err := ReadPV(bytes.NewReader(b), int64(len(b)))
	if err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("damaged metadata: %v, want a checksum error", err)
	}
}

func TestParseText(t *testing.T) {
	src := `# c
vg {
id = "a-b"	# hint
seqno = 7
extent_size = 8192
status = ["READ", "WRITE"]
esc = "q\"x\\y"
f = 1.5
logical_volumes {
lv {
id = "c"
status = ["READ", "VISIBLE"]
segment_count = 1
segment1 {
start_extent = 0
extent_count = 3
type = "thin"
}
}
}
}
contents = "Text Format Volume Group"
`
	top, err := parseText([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	vg := top.sub("vg")
	if s, _ := vg.str("esc"); s != `q"x\y` {
		t.Errorf("escaped string %q", s)
	}
	if n, _ := vg.num("seqno"); n != 7 {
		t.Errorf("seqno %d", n)
	}
	v, err := ParseVG([]byte(strings.TrimSuffix(src, "contents = \"Text Format Volume Group\"\n")))
	if err != nil {
		t.Fatal(err)
	}
	_, skipped := Tables(v, nil)
	if len(skipped) != 1 || !strings.Contains(skipped[0].Reason, "thin") {
		t.Errorf("a thin LV: skipped %v", skipped)
	}
	for _, bad := range []string{`vg {`, `vg { a = [1, 2 }`, `vg { a = "x }`, `}`, `vg { a = }`, `vg { a = 1x }`, strings.Repeat("a {", 40)} {
		if _, err := parseText([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestEncodeTargets(t *testing.T) {
	b := encodeTargets([]Target{{0, 10, "linear", "8:1 2048"}, {10, 5, "striped", "2 128 8:1 0 8:2 0"}})
	if len(b)%8 != 0 {
		t.Fatalf("%d bytes: not 8-aligned", len(b))
	}
	first := 40 + len("8:1 2048") + 1
	first = (first + 7) &^ 7
	if next := int(b[20]) | int(b[21])<<8; next != first {
		t.Errorf("next %d, want %d", next, first)
	}
	if string(b[24:30]) != "linear" || string(b[first+24:first+31]) != "striped" {
		t.Errorf("target types: %q", b)
	}
	if !bytes.HasPrefix(b[first+40:], []byte("2 128 8:1 0 8:2 0\x00")) {
		t.Errorf("params of the second target: %q", b[first+40:])
	}
}

// A segment that reaches past its PV's last extent (damaged metadata)
// is not activated: the table would map another LV's or no data.
func TestTablesOutsidePV(t *testing.T) {
	found := readFixtures(t)
	groups, _ := Assemble(found)
	vg := *groups[0].VG
	vg.LVs = []LV{
		{Name: "past", ID: "x", Visible: true, Segments: []Segment{{0, 4, "striped", 0, []Stripe{{"pv0", vg.PVs[0].PECount - 2}}}}},
		{Name: "last", ID: "y", Visible: true, Segments: []Segment{{0, 2, "striped", 0, []Stripe{{"pv0", vg.PVs[0].PECount - 2}}}}},
	}
	devs, skipped := Tables(&vg, groups[0].PVs)
	if len(skipped) != 1 || skipped[0].LV != "past" || !strings.Contains(skipped[0].Reason, "outside") {
		t.Errorf("skipped %v, want past (outside its PV)", skipped)
	}
	if len(devs) != 1 || devs[0].LV != "last" {
		t.Errorf("devices %v, want last (its PV's last two extents)", devs)
	}
}

func TestFormatUUID(t *testing.T) {
	if got := FormatUUID([]byte("pRkso9LitzpXt0uhc91ud3VsuarM5nmJ")); got != "pRkso9-Litz-pXt0-uhc9-1ud3-Vsua-rM5nmJ" {
		t.Errorf("FormatUUID = %q", got)
	}
}

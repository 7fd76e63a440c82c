package clone

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/report"
)

func TestNewVGName(t *testing.T) {
	for _, tt := range []struct {
		src                string
		existing, onTarget []string
		want               string
	}{
		{"sysvg", []string{"sysvg"}, nil, "drd_sysvg"},
		{"sysvg", []string{"sysvg", "drd_sysvg"}, nil, "drd_sysvg_2"},
		{"sysvg", []string{"sysvg", "drd_sysvg", "drd_sysvg_2"}, nil, "drd_sysvg_3"},
		{"sysvg", []string{"sysvg", "drd_sysvg"}, []string{"drd_sysvg"}, "drd_sysvg"}, // an earlier clone's, removed first
		{"drd_sysvg", []string{"drd_sysvg"}, nil, "sysvg"},                            // cloning back from a clone
		{"drd_sysvg", []string{"drd_sysvg", "sysvg"}, []string{"sysvg"}, "sysvg"},
		{"drd_sysvg", []string{"drd_sysvg", "sysvg"}, nil, "drd_sysvg_2"},
		{"my-vg", []string{"my-vg"}, nil, "drd_my-vg"},
	} {
		if got := newVGName(tt.src, tt.existing, tt.onTarget); got != tt.want {
			t.Errorf("newVGName(%q, %v, %v) = %q, want %q", tt.src, tt.existing, tt.onTarget, got, tt.want)
		}
	}
}

func testLVM() *bootenv.LVM {
	return &bootenv.LVM{
		VGs: []bootenv.VolumeGroup{
			{Name: "sysvg", Size: 5500 * mib, Free: 1400 * mib, ExtentSize: 4 * mib},
			{Name: "datavg", Size: 1020 * mib, Free: 508 * mib, ExtentSize: 4 * mib},
			{Name: "drd_sysvg", Size: 5000 * mib, ExtentSize: 4 * mib},
		},
		LVs: []bootenv.LogicalVolume{
			{VG: "sysvg", Name: "root", Size: 3 * gib, Attr: "-wi-ao----", Major: 253, Minor: 0},
			{VG: "sysvg", Name: "var", Size: 1 * gib, Attr: "-wi-ao----", Major: 253, Minor: 1},
			{VG: "datavg", Name: "srv", Size: 512 * mib, Attr: "-wi-ao----", Major: 253, Minor: 2},
			{VG: "drd_sysvg", Name: "root", Size: 3 * gib, Attr: "-wi-a-----", Major: 253, Minor: 3},
		},
		PVs: []bootenv.PhysicalVolume{
			{Path: "/dev/vda4", VG: "sysvg"}, {Path: "/dev/vdd1", VG: "datavg"}, {Path: "/dev/vdc2", VG: "drd_sysvg"},
		},
	}
}

func diskOfFixture(p string) string { return strings.TrimRight(p, "0123456789") }

func TestVGsOnTarget(t *testing.T) {
	l := testLVM()
	got := vgsOnTarget(l, diskOfFixture, []string{"/dev/vdc"})
	want := []vgOnTarget{{Name: "drd_sysvg", PVs: []string{"/dev/vdc2"}, Active: []string{"root"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("vgsOnTarget = %+v, want %+v", got, want)
	}
	err := checkTargetVGs("/dev/vdc", got)
	if err == nil || !strings.Contains(err.Error(), "volume group drd_sysvg, which is in use (active logical volumes: root)") || !strings.Contains(err.Error(), "vgchange -an drd_sysvg") {
		t.Errorf("an active VG on the target: %v", err)
	}
	// datavg spans vdd and vde: refused even when inactive.
	l.PVs = append(l.PVs, bootenv.PhysicalVolume{Path: "/dev/vde1", VG: "datavg"})
	l.LVs[2].Major, l.LVs[2].Minor = -1, -1
	err = checkTargetVGs("/dev/vdd", vgsOnTarget(l, diskOfFixture, []string{"/dev/vdd"}))
	if err == nil || !strings.Contains(err.Error(), "datavg, which also lives on /dev/vde1") {
		t.Errorf("a VG spanning the target and another disk: %v", err)
	}
	l.LVs[3].Major, l.LVs[3].Minor = -1, -1
	if err := checkTargetVGs("/dev/vdc", vgsOnTarget(l, diskOfFixture, []string{"/dev/vdc"})); err != nil {
		t.Errorf("an inactive VG wholly on the target: %v", err)
	}
	if got := vgsOnTarget(l, diskOfFixture, []string{"/dev/vdf"}); len(got) != 0 {
		t.Errorf("an empty target holds %+v", got)
	}
}

// lvmSource is a booted image with / and /var on LVs of sysvg, /boot and
// the ESP on partitions.
func lvmSource() *bootenv.Layout {
	fs := func(mp, typ, dev, vg, lv string, size int64) bootenv.SystemFS {
		s := bootenv.SystemFS{HostPath: filepath.Join("/", mp), Spec: dev}
		s.FileSystem = bootenv.FileSystem{MountPoint: mp, Device: dev, Type: typ, Size: size, VG: vg, LV: lv, UUID: "u-" + mp}
		s.Dev = bootenv.BlockDev{Path: dev, ID: bootenv.DevID{Path: dev, UUID: "u-" + mp, VG: vg, LV: lv}}
		return s
	}
	return &bootenv.Layout{Root: "/", Disk: "/dev/vda", VG: "sysvg", Critical: []bootenv.SystemFS{
		fs("/", "ext4", "/dev/dm-0", "sysvg", "root", 3*gib),
		fs("/boot", "ext4", "/dev/vda3", "", "", 512*mib),
		fs("/var", "ext4", "/dev/dm-1", "sysvg", "var", 1*gib),
		fs("/boot/efi", "vfat", "/dev/vda2", "", "", 128*mib),
	}}
}

func TestLayoutLVM(t *testing.T) {
	src := lvmSource()
	usage := map[string]fsUsage{"/": {bytes: 1 * gib}, "/boot": {bytes: 60 * mib}, "/var": {bytes: 200 * mib}, "/boot/efi": {bytes: 5 * mib}}
	vg, err := lvmPlan(testLVM(), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if vg.Name != "drd_sysvg_2" || vg.SourceFree != 1400*mib {
		t.Errorf("VG plan %+v: want drd_sysvg_2 (drd_sysvg is taken), source free 1400 MiB", vg)
	}
	const size = 6 * gib
	parts, fss, err := layout("sysimage_001", src.Critical, usage, size, false, vg)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range parts {
		got = append(got, p.Name+":"+p.Type.String())
	}
	want := []string{"drd-sysimage_001-bios:BIOS boot partition", "drd-sysimage_001-boot_efi:EFI system partition", "drd-sysimage_001-boot:Linux filesystem", "drd-sysimage_001-lvm:Linux LVM"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("partitions %v, want %v", got, want)
	}
	var total int64
	for _, p := range parts {
		total += p.Size
	}
	if total > size-gptOverhead {
		t.Errorf("partitions take %s of %s", humanSize(total), humanSize(size))
	}
	if vg.Part != 3 {
		t.Errorf("the PV is partition index %d, want 3", vg.Part)
	}
	var lvTotal int64
	for _, f := range fss {
		switch f.MountPoint {
		case "/", "/var":
			if f.LV != f.Src.LV || f.Part != vg.Part || f.ID.VG != "drd_sysvg_2" || f.ID.LV != f.LV ||
				f.ID.Path != "/dev/mapper/drd_sysvg_2-"+f.LV || f.Size%extentSize != 0 || f.Size < f.Used+f.Used/10 {
				t.Errorf("%s: %+v", f.MountPoint, f)
			}
			lvTotal += f.Size
		default:
			if f.LV != "" || f.Size != parts[f.Part].Size || f.ID.PartLabel != parts[f.Part].Name {
				t.Errorf("%s: %+v", f.MountPoint, f)
			}
		}
	}
	// The LVs, the VG's metadata and its free share fit in the PV.
	pv := parts[vg.Part].Size
	if free := pv - pvOverhead - lvTotal; free < 0 || lvTotal+pvOverhead > pv {
		t.Errorf("PV %s holds LVs of %s", humanSize(pv), humanSize(lvTotal))
	} else if free < 900*mib {
		t.Errorf("the clone's VG keeps %s free; the source keeps a fifth of its size free", humanSize(free))
	}
	// The root gets 3/4 of the LVs' room, as in the source.
	for _, f := range fss {
		if f.MountPoint == "/" && (f.Size < 2*lvTotal/3 || f.Size > 4*lvTotal/5) {
			t.Errorf("/ gets %s of %s", humanSize(f.Size), humanSize(lvTotal))
		}
	}
	// Too small a target: the error says what is needed.
	if _, _, err := layout("sysimage_001", src.Critical, usage, 1*gib, false, vg); err == nil || !strings.Contains(err.Error(), "need at least") {
		t.Errorf("a 1 GiB target: %v", err)
	}
}

func TestSnapshotSize(t *testing.T) {
	for _, tt := range []struct{ lv, extent, want int64 }{
		{3 * gib, 4 * mib, 308 * mib},
		{100 * mib, 4 * mib, 64 * mib},
		{1 * gib, 32 * mib, 128 * mib},
		{1 * gib, 0, 104 * mib},
	} {
		if got := snapshotSize(tt.lv, tt.extent); got != tt.want {
			t.Errorf("snapshotSize(%s, %s) = %s, want %s", humanSize(tt.lv), humanSize(tt.extent), humanSize(got), humanSize(tt.want))
		}
	}
}

func TestPlanSnapshots(t *testing.T) {
	src := lvmSource()
	for _, tt := range []struct {
		name, mode string
		free       int64
		snaps      []string
		why, err   string
	}{
		{"room", "auto", 1400 * mib, []string{"root_drdsnap", "var_drdsnap"}, "", ""},
		{"default", "", 1400 * mib, []string{"root_drdsnap", "var_drdsnap"}, "", ""},
		{"no room", "auto", 100 * mib, nil, "volume group sysvg has 100.0 MiB free; snapshots of root, var need 412.0 MiB", ""},
		{"always without room", "always", 100 * mib, nil, "", "-x snapshot=always: volume group sysvg has 100.0 MiB free"},
		{"always", "always", 412 * mib, []string{"root_drdsnap", "var_drdsnap"}, "", ""},
		{"never", "never", 1400 * mib, nil, "-x snapshot=never", ""},
		{"bad", "sometimes", 1400 * mib, nil, "", "want auto, always or never"},
	} {
		l := testLVM()
		l.VGs[0].Free = tt.free
		snaps, why, err := planSnapshots(l, src, tt.mode)
		var names []string
		for _, s := range snaps {
			names = append(names, s.Name)
		}
		if !reflect.DeepEqual(names, tt.snaps) || why != tt.why || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: snapshots %v, why %q, err %v; want %v, %q, %q", tt.name, names, why, err, tt.snaps, tt.why, tt.err)
		}
	}
}

// fakeRun is a clone under way with a fake runner, for the steps that
// only run programs.
func fakeRun(t *testing.T, f *execrun.Fake) *run {
	p := &Plan{Source: lvmSource(), VG: &VGPlan{Source: "sysvg", Name: "drd_sysvg"}}
	snaps, _, err := planSnapshots(testLVM(), p.Source, "auto")
	if err != nil {
		t.Fatal(err)
	}
	p.Snaps = snaps
	return &run{Plan: p, opt: Options{Runner: f}, r: report.Func(t.Logf)}
}

func TestTakeSnapshots(t *testing.T) {
	lvcreate := func(lv string, size int64) string {
		return "lvcreate --config " + lvmConfig + " -y -s -n " + lv + "_drdsnap -L " + itoa(size) + "b sysvg/" + lv
	}
	ok := map[string]string{
		"fsfreeze -f /var": "", "fsfreeze -f /": "", "fsfreeze -u /var": "", "fsfreeze -u /": "",
		lvcreate("var", 104*mib): "", lvcreate("root", 308*mib): "",
		"lvremove --config " + lvmConfig + " -y sysvg/root_drdsnap": "",
		"lvremove --config " + lvmConfig + " -y sysvg/var_drdsnap":  "",
	}
	f := &execrun.Fake{Out: ok}
	c := fakeRun(t, f)
	if err := c.takeSnapshots(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"fsfreeze -f /var", "fsfreeze -f /", // all frozen, children first
		"fsfreeze -u /var", lvcreate("var", 104*mib), "fsfreeze -f /var", // LVM freezes it itself
		"fsfreeze -u /", lvcreate("root", 308*mib), "fsfreeze -f /",
		"fsfreeze -u /", "fsfreeze -u /var", // all thawed
	}
	if !reflect.DeepEqual(f.Ran, want) {
		t.Errorf("ran\n%s\nwant\n%s", strings.Join(f.Ran, "\n"), strings.Join(want, "\n"))
	}
	f.Ran = nil
	if err := c.u.run(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"lvremove --config " + lvmConfig + " -y sysvg/root_drdsnap", "lvremove --config " + lvmConfig + " -y sysvg/var_drdsnap"}; !reflect.DeepEqual(f.Ran, want) {
		t.Errorf("undo ran %q, want %q", f.Ran, want)
	}

	// The second snapshot fails: everything is thawed, and the undo stack
	// removes both (the failed one's leftover too).
	f = &execrun.Fake{Out: ok, Errs: map[string]error{lvcreate("root", 308*mib): errors.New("device-mapper: suspend ioctl failed")}}
	c = fakeRun(t, f)
	err := c.takeSnapshots(context.Background())
	if err == nil || !strings.Contains(err.Error(), "taking snapshot sysvg/root_drdsnap of /") {
		t.Errorf("got %v", err)
	}
	frozen := map[string]int{}
	for _, r := range f.Ran {
		if p, ok := strings.CutPrefix(r, "fsfreeze -f "); ok {
			frozen[p]++
		}
		if p, ok := strings.CutPrefix(r, "fsfreeze -u "); ok {
			frozen[p]--
		}
	}
	for p, n := range frozen {
		if n != 0 {
			t.Errorf("%s left frozen (%d) after a failure: %q", p, n, f.Ran)
		}
	}
	f.Ran = nil
	if err := c.u.run(); err != nil {
		t.Fatal(err)
	}
	if len(f.Ran) != 2 {
		t.Errorf("undo after a failure ran %q, want both snapshots removed", f.Ran)
	}

	// A freeze that fails thaws what was frozen.
	f = &execrun.Fake{Out: ok, Errs: map[string]error{"fsfreeze -f /": errors.New("not supported")}}
	c = fakeRun(t, f)
	if err := c.takeSnapshots(context.Background()); err == nil || !strings.Contains(err.Error(), "freezing / for its snapshot") {
		t.Errorf("got %v", err)
	}
	if last := f.Ran[len(f.Ran)-1]; last != "fsfreeze -u /var" {
		t.Errorf("after a failed freeze ran %q, want /var thawed last", f.Ran)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }

func TestMakeVGUndo(t *testing.T) {
	src := lvmSource()
	vg := &VGPlan{Source: "sysvg", Name: "drd_sysvg", Remove: []string{"drd_sysvg"}}
	parts, fss, err := layout("sysimage_001", src.Critical, map[string]fsUsage{}, 6*gib, false, vg)
	if err != nil {
		t.Fatal(err)
	}
	p := &Plan{Source: src, VG: vg, Parts: parts, FS: fss}
	var lvRoot, lvVar int64
	for _, f := range fss {
		if f.LV == "root" {
			lvRoot = f.Size
		}
		if f.LV == "var" {
			lvVar = f.Size
		}
	}
	pv := images.PartitionPath("/dev/vdc", parts[vg.Part].Number)
	f := &execrun.Fake{Out: map[string]string{
		"vgremove -ff -y drd_sysvg": "", "pvcreate -ff -y " + pv: "", "vgcreate -s 4194304b drd_sysvg " + pv: "",
		"lvcreate -y -W y -Z y -n root -L " + fmtInt(lvRoot) + "b drd_sysvg": "",
	}, Errs: map[string]error{"lvcreate -y -W y -Z y -n var -L " + fmtInt(lvVar) + "b drd_sysvg": errors.New("insufficient free space")}}
	c := &run{Plan: p, opt: Options{Runner: f}, r: report.Func(t.Logf), disk: "/dev/vdc"}
	if err := c.removeOldVGs(context.Background()); err != nil {
		t.Fatal(err)
	}
	err = c.makeVG(context.Background())
	if err == nil || !strings.Contains(err.Error(), "making logical volume drd_sysvg/var for /var") {
		t.Fatalf("got %v", err)
	}
	f.Ran = nil
	if err := c.u.run(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"vgremove -ff -y drd_sysvg"}; !reflect.DeepEqual(f.Ran, want) {
		t.Errorf("undo of a failed clone ran %q, want %q", f.Ran, want)
	}
	// A complete clone's VG is only deactivated.
	f.Out["vgchange -an drd_sysvg"] = ""
	delete(f.Errs, "lvcreate -y -W y -Z y -n var -L "+fmtInt(lvVar)+"b drd_sysvg")
	f.Out["lvcreate -y -W y -Z y -n var -L "+fmtInt(lvVar)+"b drd_sysvg"] = ""
	c = &run{Plan: p, opt: Options{Runner: f}, r: report.Func(t.Logf), disk: "/dev/vdc", rec: &bootenv.Record{}}
	if err := c.makeVG(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.rec.State = bootenv.Complete
	f.Ran = nil
	if err := c.u.run(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"vgchange -an drd_sysvg"}; !reflect.DeepEqual(f.Ran, want) {
		t.Errorf("undo of a complete clone ran %q, want %q", f.Ran, want)
	}
}

func TestPlanTableLVM(t *testing.T) {
	src := lvmSource()
	vg := &VGPlan{Source: "sysvg", Name: "drd_sysvg"}
	parts, fss, err := layout("sysimage_001", src.Critical, map[string]fsUsage{}, 6*gib, false, vg)
	if err != nil {
		t.Fatal(err)
	}
	p := &Plan{Source: src, VG: vg, Parts: parts, FS: fss}
	p.Snaps, _, _ = planSnapshots(testLVM(), src, "auto")
	out := planTable(p)
	for _, want := range []string{"LV drd_sysvg/root", "LV drd_sysvg/var", "copy from snapshot root_drdsnap",
		"Volume group drd_sysvg (new, for sysvg) on partition 4 drd-sysimage_001-lvm",
		"Snapshots, taken together and removed after the copy: sysvg/root_drdsnap (308.0 MiB), sysvg/var_drdsnap (104.0 MiB)"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	p.Snaps, p.NoSnaps = nil, "volume group sysvg has 1.0 MiB free"
	if out := planTable(p); !strings.Contains(out, "No snapshots (volume group sysvg has 1.0 MiB free): two passes") {
		t.Errorf("plan without snapshots:\n%s", out)
	}
}

func TestRewriteDevicesLVM(t *testing.T) {
	renames := []rename{
		{bootenv.DevID{Path: "/dev/dm-0", UUID: "0a0a", VG: "sysvg", LV: "root"}, bootenv.DevID{Path: "/dev/mapper/drd_sysvg-root", UUID: "c0a0", VG: "drd_sysvg", LV: "root"}},
		{bootenv.DevID{Path: "/dev/dm-1", UUID: "0a0b", VG: "sys-vg", LV: "var"}, bootenv.DevID{Path: "/dev/mapper/drd_sys--vg-var", UUID: "c0a1", VG: "drd_sys-vg", LV: "var"}},
		{bootenv.DevID{Path: "/dev/dm-3", UUID: "0b0b0b0b-3333-4333-8333-333333333333", VG: "sysvg", LV: "opt"}, bootenv.DevID{Path: "/dev/mapper/drd_sysvg-opt", UUID: "cb0b0b0b-3333-4333-8333-333333333333", VG: "drd_sysvg", LV: "opt"}},
		{bootenv.DevID{Path: "/dev/dm-4", VG: "sys-vg", LV: "log"}, bootenv.DevID{Path: "/dev/mapper/drd_sys--vg-log", VG: "drd_sys-vg", LV: "log"}},
		{bootenv.DevID{Path: "/dev/vda3", UUID: "1c1c1c1c-1111-4111-8111-111111111111"}, bootenv.DevID{Path: "/dev/vdc3", UUID: "c1c1c1c1-1111-4111-8111-111111111111"}},
		{bootenv.DevID{Path: "/dev/dm-6", VG: "sysvg", LV: "secret"}, bootenv.DevID{Path: "/dev/mapper/drd_sysvg-secret", VG: "drd_sysvg", LV: "secret"}},
	}
	for _, tt := range []struct {
		file         string
		field, lines int
	}{{"lvm.fstab", 0, 5}, {"lvm.crypttab", 1, 1}} {
		t.Run(tt.file, func(t *testing.T) { checkRewriteGolden(t, tt.file, tt.field, tt.lines, renames) })
	}
}

// flakyPV fails pvcreate with "No device found" a number of times, as
// LVM does while udev re-reads a new partition table, then succeeds.
type flakyPV struct {
	fails int
	ran   []string
}

func (f *flakyPV) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	line := strings.Join(append([]string{name}, args...), " ")
	f.ran = append(f.ran, line)
	if name == "pvcreate" && f.fails > 0 {
		f.fails--
		return nil, errors.New("running \"" + line + "\": exit status 5\n  No device found for /dev/vdc4.")
	}
	return nil, nil
}

// TestPVCreateWaitsForUdev: a partition udev is still re-reading is
// waited for (udevadm settle, then pvcreate again); another failure, or
// one that lasts, is reported.
func TestPVCreateWaitsForUdev(t *testing.T) {
	f := &flakyPV{fails: 1}
	c := &run{opt: Options{Runner: f}, r: report.Func(t.Logf)}
	if err := c.pvcreate(context.Background(), "/dev/vdc4"); err != nil {
		t.Fatalf("a device back after udev settled: %v", err)
	}
	if want := []string{"pvcreate -ff -y /dev/vdc4", "udevadm settle --timeout=10", "pvcreate -ff -y /dev/vdc4"}; !reflect.DeepEqual(f.ran, want) {
		t.Errorf("ran %q, want %q", f.ran, want)
	}
	f = &flakyPV{fails: pvcreateTries}
	c.opt.Runner = f
	if err := c.pvcreate(context.Background(), "/dev/vdc4"); err == nil || !strings.Contains(err.Error(), "No device found") {
		t.Errorf("a device that never comes back: %v", err)
	}
	if n := strings.Count(strings.Join(f.ran, "\n"), "pvcreate"); n != pvcreateTries {
		t.Errorf("pvcreate tried %d times, want %d", n, pvcreateTries)
	}
}

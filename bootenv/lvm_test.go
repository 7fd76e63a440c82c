package bootenv

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func readLVMFixture(t *testing.T) *LVM {
	t.Helper()
	read := func(n string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata/lvm", n))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var l LVM
	var err error
	if l.VGs, err = ParseVGs(read("vgs.json")); err != nil {
		t.Fatal(err)
	}
	if l.LVs, err = ParseLVs(read("lvs.json")); err != nil {
		t.Fatal(err)
	}
	if l.PVs, err = ParsePVs(read("pvs.json")); err != nil {
		t.Fatal(err)
	}
	return &l
}

func TestParseLVMReports(t *testing.T) {
	l := readLVMFixture(t)
	sys, ok := l.VG("sysvg")
	if !ok || sys.Free != 1048576000 || sys.ExtentSize != 4<<20 || sys.FreeExtents != 250 || sys.Size != 5767168000 {
		t.Errorf("sysvg = %+v, %v", sys, ok)
	}
	var names []string
	for _, lv := range l.LVsOf("sysvg") {
		names = append(names, lv.Name)
	}
	if want := []string{"opt", "root", "root_drdsnap", "swap", "var"}; !reflect.DeepEqual(names, want) {
		t.Errorf("LVs of sysvg = %v, want %v", names, want)
	}
	for _, tt := range []struct {
		lv                   string
		active, snap, isOpen bool
		major, minor         int64
	}{
		{"root", true, false, true, 254, 0},
		{"root_drdsnap", true, true, false, 254, 5},
		{"swap", false, false, false, -1, -1},
		{"srv", true, false, true, 254, 2},
	} {
		i := slices.IndexFunc(l.LVs, func(lv LogicalVolume) bool { return lv.Name == tt.lv })
		lv := l.LVs[i]
		if lv.Active() != tt.active || lv.IsSnapshot() != tt.snap || lv.Open() != tt.isOpen || lv.Major != tt.major || lv.Minor != tt.minor {
			t.Errorf("%s: %+v: active %v snapshot %v open %v; want %v %v %v %d:%d", tt.lv, lv, lv.Active(), lv.IsSnapshot(), lv.Open(), tt.active, tt.snap, tt.isOpen, tt.major, tt.minor)
		}
	}
	if pvs := l.PVsOf("datavg"); len(pvs) != 1 || pvs[0].Path != "/dev/vdc1" || pvs[0].Size != 1071644672 {
		t.Errorf("PVs of datavg = %+v", pvs)
	}
}

func TestParseLVMReportErrors(t *testing.T) {
	for _, tt := range []struct {
		name, data, want string
		parse            func([]byte) error
	}{
		{"not json", "  Volume group not found", "reading the LVM lv report", func(b []byte) error { _, err := ParseLVs(b); return err }},
		{"units", `{"report":[{"lv":[{"vg_name":"v","lv_name":"l","lv_size":"3.00g"}]}]}`, `field lv_size: "3.00g" is not a number`, func(b []byte) error { _, err := ParseLVs(b); return err }},
		{"no name", `{"report":[{"lv":[{"vg_name":"v","lv_size":"1"}]}]}`, "without vg_name or lv_name", func(b []byte) error { _, err := ParseLVs(b); return err }},
		{"vg free", `{"report":[{"vg":[{"vg_name":"v","vg_free":"x"}]}]}`, "volume group v: field vg_free", func(b []byte) error { _, err := ParseVGs(b); return err }},
		{"pv size", `{"report":[{"pv":[{"pv_name":"/dev/x","pv_size":"1g"}]}]}`, "physical volume /dev/x", func(b []byte) error { _, err := ParsePVs(b); return err }},
	} {
		if err := tt.parse([]byte(tt.data)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error with %q", tt.name, err, tt.want)
		}
	}
	// A size with the unit suffix (no --nosuffix) is read too.
	lvs, err := ParseLVs([]byte(`{"report":[{"lv":[{"vg_name":"v","lv_name":"l","lv_size":"4194304B","lv_kernel_major":"","lv_kernel_minor":""}]}]}`))
	if err != nil || lvs[0].Size != 4194304 || lvs[0].Active() {
		t.Errorf("got %+v, %v", lvs, err)
	}
}

func TestDMName(t *testing.T) {
	for _, tt := range []struct{ vg, lv, want string }{
		{"sysvg", "root", "sysvg-root"},
		{"my-vg", "my-lv", "my--vg-my--lv"},
		{"drd_sys-vg", "var", "drd_sys--vg-var"},
	} {
		if got := DMName(tt.vg, tt.lv); got != tt.want {
			t.Errorf("DMName(%q, %q) = %q, want %q", tt.vg, tt.lv, got, tt.want)
		}
	}
}

// lvmDevs is the device table of the lvm fixture, as ReadDevices gives it
// (before AddLVM).
func lvmDevs() DeviceTable {
	return DeviceTable{
		dev("/dev/vda2", 253, 2, "/dev/vda", 2, "vfat", "ABCD-1234"),
		dev("/dev/vda3", 253, 3, "/dev/vda", 3, "ext4", "1c1c1c1c-1111-4111-8111-111111111111"),
		dev("/dev/vda4", 253, 4, "/dev/vda", 4, "LVM2_member", "pv-sys"),
		dev("/dev/vda5", 253, 5, "/dev/vda", 5, "ext4", "5e5e5e5e-1111-4111-8111-111111111111"),
		dev("/dev/vdb1", 253, 17, "/dev/vdb", 1, "ext4", "2d2d2d2d-1111-4111-8111-111111111111"),
		dev("/dev/vdc1", 253, 33, "/dev/vdc", 1, "LVM2_member", "pv-data"),
		dev("/dev/dm-0", 254, 0, "/dev/dm-0", 0, "ext4", "0a0a0a0a-1111-4111-8111-111111111111"),
		dev("/dev/dm-1", 254, 1, "/dev/dm-1", 0, "ext4", "0a0a0a0a-2222-4222-8222-222222222222"),
		dev("/dev/dm-2", 254, 2, "/dev/dm-2", 0, "ext4", "0d0d0d0d-1111-4111-8111-111111111111"),
		dev("/dev/dm-3", 254, 3, "/dev/dm-3", 0, "xfs", "0b0b0b0b-3333-4333-8333-333333333333"),
		dev("/dev/dm-5", 254, 5, "/dev/dm-5", 0, "ext4", "0a0a0a0a-1111-4111-8111-111111111111"),
	}
}

func TestAddLVM(t *testing.T) {
	devs := AddLVM(lvmDevs(), readLVMFixture(t))
	for _, tt := range []struct{ path, vg, lv, disk string }{
		{"/dev/dm-0", "sysvg", "root", "/dev/vda"},
		{"/dev/dm-2", "datavg", "srv", "/dev/vdc"},
		{"/dev/dm-5", "sysvg", "root_drdsnap", "/dev/vda"},
		{"/dev/vda3", "", "", "/dev/vda"},
	} {
		i := slices.IndexFunc(devs, func(d BlockDev) bool { return d.Path == tt.path })
		d := devs[i]
		if d.ID.VG != tt.vg || d.ID.LV != tt.lv || d.Disk != tt.disk {
			t.Errorf("%s: VG %q LV %q disk %q; want %q %q %q", tt.path, d.ID.VG, d.ID.LV, d.Disk, tt.vg, tt.lv, tt.disk)
		}
	}
	if lvmDevs()[6].ID.VG != "" {
		t.Error("AddLVM changed its input")
	}
}

func TestDiscoverLVM(t *testing.T) {
	ms, fs := loadFixture(t, "lvm")
	l, err := Discover("/", ms, fs, AddLVM(lvmDevs(), readLVMFixture(t)))
	if err != nil {
		t.Fatal(err)
	}
	var crit []string
	for _, c := range l.Critical {
		crit = append(crit, c.MountPoint+"="+c.VG+"/"+c.LV)
	}
	if want := []string{"/=sysvg/root", "/boot=/", "/opt=sysvg/opt", "/var=sysvg/var", "/boot/efi=/"}; !reflect.DeepEqual(crit, want) {
		t.Errorf("critical = %v, want %v", crit, want)
	}
	if l.VG != "sysvg" || l.Disk != "/dev/vda" {
		t.Errorf("VG %q disk %q, want sysvg on /dev/vda", l.VG, l.Disk)
	}
	why := map[string]string{}
	for _, s := range l.Shared {
		why[s.MountPoint] = s.Why
	}
	for mp, want := range map[string]string{
		"/srv":  "in volume group datavg, not the root's (sysvg)",
		"/data": "not in the root's volume group sysvg",
		"/home": "not in the root's volume group sysvg",
		"none":  "swap or not a mount point",
	} {
		if why[mp] != want {
			t.Errorf("shared %s: %q, want %q", mp, why[mp], want)
		}
	}
	if len(l.Critical) != 5 || l.Critical[0].Spec != "/dev/mapper/sysvg-root" {
		t.Errorf("the root's fstab spec = %q", l.Critical[0].Spec)
	}
}

func TestDevSpecLVM(t *testing.T) {
	id := DevID{Path: "/dev/dm-0", UUID: "abcd", VG: "my-vg", LV: "root"}
	for _, tt := range []struct {
		spec, kind string
		match      bool
	}{
		{"/dev/mapper/my--vg-root", "MAPPER", true},
		{"/dev/my-vg/root", "VGLV", true},
		{"/dev/mapper/my-vg-root", "MAPPER", false},
		{"/dev/other/root", "VGLV", false},
		{"/dev/dm-0", "PATH", true},
		{"/dev/disk/by-uuid/abcd", "UUID", true},
		{"/dev/md/0", "PATH", false},
		{"/dev/mapper/luks-1", "MAPPER", false},
	} {
		s := ParseDevSpec(tt.spec)
		if s.Kind != tt.kind || s.Matches(id) != tt.match || s.String() != tt.spec {
			t.Errorf("%q: kind %s, matches %v, string %q; want %s, %v", tt.spec, s.Kind, s.Matches(id), s.String(), tt.kind, tt.match)
		}
	}
	if got := id.Value("MAPPER"); got != "/dev/mapper/my--vg-root" {
		t.Errorf("Value(MAPPER) = %q", got)
	}
	if got := (DevID{Path: "/dev/sda1"}).Value("VGLV"); got != "" {
		t.Errorf("a partition's VGLV value = %q, want none", got)
	}
}

func TestCloneVGs(t *testing.T) {
	l := readLVMFixture(t)
	devs := lvmDevs()
	devs[5].ID.PartLabel = "drd-sysimage_001-lvm" // vdc1, datavg's PV
	if got := CloneVGs(devs, l); !reflect.DeepEqual(got, []string{"datavg"}) {
		t.Errorf("CloneVGs = %v, want [datavg]", got)
	}
	devs[5].ID.PartLabel = "data"
	if got := CloneVGs(devs, l); len(got) != 0 {
		t.Errorf("CloneVGs = %v, want none", got)
	}
}

func TestImageVGs(t *testing.T) {
	got := imageVGs([]FileSystem{{MountPoint: "/", VG: "drd_sysvg"}, {MountPoint: "/boot"}, {MountPoint: "/var", VG: "drd_sysvg"}})
	if !reflect.DeepEqual(got, []string{"drd_sysvg"}) {
		t.Errorf("imageVGs = %v", got)
	}
}

func TestOriginVGs(t *testing.T) {
	lvm := &LVM{
		VGs: []VolumeGroup{{Name: "sysvg"}, {Name: "drd_sysvg"}, {Name: "datavg"}},
		LVs: []LogicalVolume{
			{VG: "sysvg", Name: "root", Major: -1, Minor: -1},
			{VG: "drd_sysvg", Name: "root", Major: 254, Minor: 0},
			{VG: "datavg", Name: "srv", Major: 254, Minor: 1},
		},
	}
	devs := DeviceTable{{Path: "/dev/dm-0", ID: DevID{UUID: "clone-root"}}}
	if got := OriginVGs(devs, lvm, "origin-root"); !reflect.DeepEqual(got, []string{"sysvg"}) {
		t.Errorf("origin not seen: OriginVGs = %v, want [sysvg]", got)
	}
	devs = append(devs, BlockDev{Path: "/dev/dm-2", ID: DevID{UUID: "ORIGIN-ROOT"}})
	if got := OriginVGs(devs, lvm, "origin-root"); got != nil {
		t.Errorf("origin seen: OriginVGs = %v, want none", got)
	}
	if got := OriginVGs(devs[:1], lvm, ""); got != nil {
		t.Errorf("no origin recorded: OriginVGs = %v, want none", got)
	}
}

package bootenv

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func loadFixture(t *testing.T, name string) ([]MountInfo, []FstabEntry) {
	t.Helper()
	mi, err := os.ReadFile(filepath.Join("testdata/discover", name+".mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	ft, err := os.ReadFile(filepath.Join("testdata/discover", name+".fstab"))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := ParseMountinfo(mi)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := ParseFstab(ft)
	if err != nil {
		t.Fatal(err)
	}
	return ms, fs
}

func dev(path string, maj, min uint32, disk string, part int, typ, uuid string) BlockDev {
	return BlockDev{Path: path, Major: maj, Minor: min, Disk: disk, Partition: part, Size: 1 << 30, FSType: typ,
		ID: DevID{Path: path, UUID: uuid}}
}

func TestDiscover(t *testing.T) {
	tests := []struct {
		name, root string
		devs       DeviceTable
		critical   []string // mount points, in mount order
		shared     []string
		disk       string
	}{
		{
			name: "onedisk", root: "/",
			devs: DeviceTable{
				dev("/dev/sda", 8, 0, "/dev/sda", 0, "", ""),
				dev("/dev/sda2", 8, 2, "/dev/sda", 2, "ext4", "22222222-2222-2222-2222-222222222222"),
				dev("/dev/sda3", 8, 3, "/dev/sda", 3, "ext4", "11111111-1111-1111-1111-111111111111"),
				dev("/dev/sda4", 8, 4, "/dev/sda", 4, "ext4", "66666666-6666-6666-6666-666666666666"),
				dev("/dev/sdb1", 8, 17, "/dev/sdb", 1, "ext4", "77777777-7777-7777-7777-777777777777"),
			},
			critical: []string{"/", "/boot", "/var"},
			shared:   []string{"/run", "/tmp", "none"},
			disk:     "/dev/sda",
		},
		{
			name: "homedisk", root: "/",
			devs: DeviceTable{
				dev("/dev/vda1", 253, 1, "/dev/vda", 1, "ext4", "aaaaaaaa-1111-1111-1111-111111111111"),
				dev("/dev/vdb", 253, 16, "/dev/vdb", 0, "ext4", "bbbbbbbb-1111-1111-1111-111111111111"),
			},
			critical: []string{"/"},
			shared:   []string{"/home", "/srv/nfs"},
			disk:     "/dev/vda",
		},
		{
			name: "esp", root: "/tmp/src",
			devs: DeviceTable{
				dev("/dev/loop0p1", 259, 0, "/dev/loop0", 1, "vfat", "ABCD-1234"),
				dev("/dev/loop0p2", 7, 2, "/dev/loop0", 2, "ext4", "44444444-4444-4444-4444-444444444444"),
				dev("/dev/loop0p3", 7, 1, "/dev/loop0", 3, "ext4", "33333333-3333-3333-3333-333333333333"),
				dev("/dev/loop1", 7, 16, "/dev/loop1", 0, "ext4", "55555555-5555-5555-5555-555555555555"),
				dev("/dev/vda", 8, 1, "/dev/vda", 0, "ext4", "99999999-5555-5555-5555-555555555555"),
			},
			critical: []string{"/", "/boot", "/boot/efi"},
			shared:   []string{"/home"},
			disk:     "/dev/loop0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, fs := loadFixture(t, tt.name)
			l, err := Discover(tt.root, ms, fs, tt.devs)
			if err != nil {
				t.Fatal(err)
			}
			var crit, shared []string
			for _, c := range l.Critical {
				crit = append(crit, c.MountPoint)
			}
			for _, s := range l.Shared {
				shared = append(shared, s.MountPoint)
			}
			if !reflect.DeepEqual(crit, tt.critical) {
				t.Errorf("critical = %q, want %q", crit, tt.critical)
			}
			if !reflect.DeepEqual(shared, tt.shared) {
				t.Errorf("shared = %q, want %q", shared, tt.shared)
			}
			if l.Disk != tt.disk {
				t.Errorf("disk = %q, want %q", l.Disk, tt.disk)
			}
		})
	}
}

func TestDiscoverUnmountedESP(t *testing.T) {
	ms, fs := loadFixture(t, "esp")
	devs := DeviceTable{
		dev("/dev/loop0p1", 259, 0, "/dev/loop0", 1, "vfat", "ABCD-1234"),
		dev("/dev/loop0p3", 7, 1, "/dev/loop0", 3, "ext4", "33333333-3333-3333-3333-333333333333"),
		dev("/dev/loop0p2", 7, 2, "/dev/loop0", 2, "ext4", "44444444-4444-4444-4444-444444444444"),
	}
	l, err := Discover("/tmp/src", ms[:2], fs, devs)
	if err != nil {
		t.Fatal(err)
	}
	esp := l.Critical[2]
	if esp.Mounted() || esp.Type != "vfat" || esp.Device != "/dev/loop0p1" || esp.Spec != "UUID=ABCD-1234" {
		t.Errorf("ESP = %+v, want unmounted vfat on /dev/loop0p1 from UUID=ABCD-1234", esp)
	}
	if l.Critical[0].HostPath != "/tmp/src" || l.Critical[1].HostPath != "/tmp/src/boot" {
		t.Errorf("host paths: %q %q", l.Critical[0].HostPath, l.Critical[1].HostPath)
	}
}

func TestDiscoverErrors(t *testing.T) {
	ms, fs := loadFixture(t, "esp")
	if _, err := Discover("/nowhere", ms, fs, nil); err == nil {
		t.Error("Discover of an unmounted root: no error")
	}
	if _, err := Discover("/tmp/src", ms, fs, nil); err == nil {
		t.Error("Discover with the root device unknown: no error")
	}
}

func TestParseMountinfoEscapes(t *testing.T) {
	ms, err := ParseMountinfo([]byte(`36 35 98:0 / /mnt/with\040space rw - ext4 /dev/sda1 rw` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].MountPoint != "/mnt/with space" || ms[0].Major != 98 {
		t.Errorf("got %+v", ms[0])
	}
	for _, bad := range []string{"36 35 98:0 / /mnt rw ext4", "x 35 98:0 / /mnt rw - ext4 /dev/sda1 rw", "36 35 98 / /mnt rw - ext4 /dev/sda1 rw"} {
		if _, err := ParseMountinfo([]byte(bad)); err == nil {
			t.Errorf("ParseMountinfo(%q): no error", bad)
		}
	}
}

func TestMountsUnderStacked(t *testing.T) {
	ms, err := ParseMountinfo([]byte(`1 0 8:1 / / rw - ext4 /dev/sda1 rw
2 1 8:2 / /r rw - ext4 /dev/sda2 rw
3 2 8:3 / /r/boot rw - ext4 /dev/sda3 rw
4 1 8:4 / /r rw - ext4 /dev/sda4 rw
`))
	if err != nil {
		t.Fatal(err)
	}
	got := MountsUnder(ms, "/r")
	if len(got) != 1 || got[0].Source != "/dev/sda4" {
		t.Errorf("MountsUnder(/r) = %+v, want only the top mount /dev/sda4", got)
	}
}

func TestDevSpec(t *testing.T) {
	id := DevID{Path: "/dev/sdb3", UUID: "abcd", Label: "my root", PartUUID: "p-1", PartLabel: "drd"}
	for _, tt := range []struct {
		spec  string
		match bool
	}{
		{"UUID=ABCD", true}, {`UUID="abcd"`, true}, {"LABEL=my root", true}, {"PARTUUID=p-1", true},
		{"PARTLABEL=drd", true}, {"/dev/disk/by-uuid/abcd", true}, {`/dev/disk/by-label/my\x20root`, true},
		{"/dev/sdb3", true}, {"/dev/sdb4", false}, {"UUID=", false}, {"LABEL=other", false},
	} {
		if got := ParseDevSpec(tt.spec).Matches(id); got != tt.match {
			t.Errorf("%q matches = %v, want %v", tt.spec, got, tt.match)
		}
	}
	for _, s := range []string{"UUID=abcd", "/dev/disk/by-label/my\\x20root", "/dev/sda1", "PARTUUID=x"} {
		if got := ParseDevSpec(s).String(); got != s {
			t.Errorf("round trip %q -> %q", s, got)
		}
	}
}

func TestParseFstabErrors(t *testing.T) {
	if _, err := ParseFstab([]byte("# ok\n/dev/sda1 /\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("want an error naming line 2, got %v", err)
	}
}

func TestMountsUnderDirectoryThatIsNoMountPoint(t *testing.T) {
	ms, err := ParseMountinfo([]byte(`27 1 8:1 / / rw - ext4 /dev/vda rw
42 27 259:3 / /var/tmp/demo/root rw - ext4 /dev/loop0p4 rw
43 42 259:2 / /var/tmp/demo/root/boot rw - ext4 /dev/loop0p3 rw
`))
	if err != nil {
		t.Fatal(err)
	}
	got := MountsUnder(ms, "/var/tmp/demo")
	if len(got) != 2 || got[0].MountPoint != "/root" || got[1].MountPoint != "/root/boot" {
		t.Errorf("MountsUnder = %+v, want /root and /root/boot", got)
	}
}

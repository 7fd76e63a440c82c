package isl

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
)

func loadIndex(t *testing.T) *ModuleIndex {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile("testdata/modules/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	idx, err := ParseModuleIndex(read("modules.dep"), read("modules.alias"), read("modules.builtin"))
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// The fixtures are excerpts of Debian 12's 6.1.0-50-amd64.
func TestResolve(t *testing.T) {
	idx := loadIndex(t)
	const k = "kernel/"
	tests := []struct {
		name        string
		names       []string
		modaliases  []string
		want        []string // files, in load order
		wantBuiltin []string
		wantMissing []string
	}{
		{name: "nothing", want: nil},
		{name: "no dependencies", names: []string{"dm-mod"}, want: []string{k + "drivers/md/dm-mod.ko"}},
		{name: "dash and underscore are one", names: []string{"dm_mod", "dm-mod"}, want: []string{k + "drivers/md/dm-mod.ko"}},
		{name: "ext4 with its dependencies first", names: []string{"ext4"}, want: []string{
			k + "fs/jbd2/jbd2.ko", k + "fs/mbcache.ko", k + "lib/crc16.ko", k + "fs/ext4/ext4.ko"}},
		{name: "an alias of a file system", names: []string{"ext2"}, want: []string{
			k + "fs/jbd2/jbd2.ko", k + "fs/mbcache.ko", k + "lib/crc16.ko", k + "fs/ext4/ext4.ko"}},
		{name: "shared dependencies once", names: []string{"vfat", "ahci", "sd_mod"}, want: []string{
			k + "fs/fat/fat.ko", k + "fs/fat/vfat.ko",
			k + "drivers/scsi/scsi_common.ko", k + "drivers/scsi/scsi_mod.ko", k + "drivers/ata/libata.ko", k + "drivers/ata/libahci.ko", k + "drivers/ata/ahci.ko",
			k + "crypto/crct10dif_common.ko", k + "lib/crc64.ko", k + "lib/crc-t10dif.ko", k + "lib/crc64-rocksoft.ko", k + "block/t10-pi.ko", k + "drivers/scsi/sd_mod.ko"}},
		{name: "hardware by modalias", modaliases: []string{
			"virtio:d00000002v00001AF4",                             // a virtio disk
			"pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00", // e1000 NIC
			"pci:v00001B36d00000010sv00001AF4sd00001100bc01sc08i02", // an NVMe controller (class match)
			"acpi:PNP0A03:", // no module claims it
		}, want: []string{
			k + "drivers/virtio/virtio.ko", k + "drivers/virtio/virtio_ring.ko", k + "drivers/block/virtio_blk.ko",
			k + "drivers/net/ethernet/intel/e1000/e1000.ko",
			k + "crypto/crct10dif_common.ko", k + "lib/crc64.ko", k + "lib/crc-t10dif.ko", k + "lib/crc64-rocksoft.ko", k + "block/t10-pi.ko",
			k + "drivers/nvme/host/nvme-core.ko", k + "drivers/nvme/host/nvme.ko"}},
		{name: "built in and missing", names: []string{"unix", "bsg", "btrfs", "ext4"}, want: []string{
			k + "fs/jbd2/jbd2.ko", k + "fs/mbcache.ko", k + "lib/crc16.ko", k + "fs/ext4/ext4.ko"},
			wantBuiltin: []string{"bsg", "unix"}, wantMissing: []string{"btrfs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := idx.Resolve(tt.names, tt.modaliases)
			if !slices.Equal(got.Files, tt.want) {
				t.Errorf("files\n%s\nwant\n%s", strings.Join(got.Files, "\n"), strings.Join(tt.want, "\n"))
			}
			if !slices.Equal(got.Builtin, tt.wantBuiltin) || !slices.Equal(got.Missing, tt.wantMissing) {
				t.Errorf("builtin %q missing %q, want %q %q", got.Builtin, got.Missing, tt.wantBuiltin, tt.wantMissing)
			}
		})
	}
}

// Every module the ISL carries comes after all its dependencies, and
// every dependency is carried: the critical set on the fixtures.
func TestResolveCriticalIsClosed(t *testing.T) {
	idx := loadIndex(t)
	res := idx.Resolve(CriticalModules, nil)
	pos := map[string]int{}
	for i, f := range res.Files {
		pos[f] = i
	}
	for i, f := range res.Files {
		for _, d := range idx.Deps[f] {
			j, ok := pos[d]
			if !ok || j > i {
				t.Errorf("%s needs %s: at %d, carried %v at %d", f, d, i, ok, j)
			}
		}
	}
	for _, n := range []string{"virtio_pci", "virtio_blk", "ahci", "nvme", "sd_mod", "dm_mod", "ext4", "xfs", "vfat", "efivarfs"} {
		if _, ok := pos[idx.ByName[n]]; !ok {
			t.Errorf("%s is not carried", n)
		}
	}
	if len(res.Missing) != 0 {
		t.Errorf("missing %q", res.Missing)
	}
	// the crypto API's crc32c before the modules that ask for it at load
	crc, ok := pos[idx.ByName["crc32c_generic"]]
	for _, n := range []string{"libcrc32c", "jbd2", "ext4"} {
		if p, carried := pos[idx.ByName[n]]; !ok || !carried || p < crc {
			t.Errorf("crc32c_generic (carried %v, at %d) must come before %s (at %d)", ok, crc, n, p)
		}
	}
}

func TestParseModuleIndexErrors(t *testing.T) {
	tests := []struct{ dep, alias, want string }{
		{"kernel/a.ko kernel/b.ko\n", "", `modules.dep line 1: "kernel/a.ko kernel/b.ko": want "FILE: DEPS"`},
		{"kernel/a.ko:\n", "alias x\n", `modules.alias line 1: "alias x": want "alias PATTERN MODULE"`},
		{"kernel/a.ko:\n", "# c\n\nalais x a\n", `modules.alias line 3: "alais x a": want "alias PATTERN MODULE"`},
	}
	for _, tt := range tests {
		_, err := ParseModuleIndex([]byte(tt.dep), []byte(tt.alias), nil)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseModuleIndex(%q, %q) = %v, want %q", tt.dep, tt.alias, err, tt.want)
		}
	}
}

func TestModuleName(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/drivers/md/dm-mod.ko":               "dm_mod",
		"kernel/fs/ext4/ext4.ko.xz":                 "ext4",
		"kernel/drivers/nvme/host/nvme-core.ko.zst": "nvme_core",
		"kernel/net/unix/unix.ko.gz":                "unix",
	} {
		if got := ModuleName(in); got != want {
			t.Errorf("ModuleName(%q) = %q, want %q", in, got, want)
		}
	}
}

// The file system types of the images are resolved as the kernel asks
// for them at mount (fs-TYPE): ext3 is ext4's.
func TestFSModules(t *testing.T) {
	st := &bootenv.Status{Images: []*bootenv.Image{
		{Record: bootenv.Record{FileSystems: []bootenv.FileSystem{{Type: "ext3"}, {Type: "vfat"}, {Type: ""}}}},
		{Record: bootenv.Record{FileSystems: []bootenv.FileSystem{{Type: "ext3"}, {Type: "xfs"}}}},
	}}
	names := FSModules(st)
	if want := []string{"fs-ext3", "fs-vfat", "fs-xfs"}; !slices.Equal(names, want) {
		t.Fatalf("FSModules = %q, want %q", names, want)
	}
	res := loadIndex(t).Resolve(names, nil)
	for _, m := range []string{"ext4", "vfat", "xfs"} {
		if !slices.ContainsFunc(res.Files, func(f string) bool { return ModuleName(f) == m }) {
			t.Errorf("%s not resolved from %q: %q", m, names, res.Files)
		}
	}
}

package clone

import (
	"slices"
	"sort"
	"testing"

	"github.com/drd-linux/drd/bootenv"
)

func img(name, disk, file string, booted bool) *bootenv.Image {
	return &bootenv.Image{Record: bootenv.Record{Name: name}, Disk: disk, ImageFile: file, Booted: booted}
}

type nameCase struct {
	name   string
	images []*bootenv.Image // with Missing set: in st.Missing
	devs   bootenv.DeviceTable
	target onTarget
	want   []string // taken
	free   string   // the clone's name
}

// TestTakenNames: a second clone to another target gets a name of its
// own; a clone to the target of an image replaces it and may take its
// name; names in partition names and labels count, also of images drd
// does not list (another system's, a half-made one).
func TestTakenNames(t *testing.T) {
	booted := img("sysimage_000", "/dev/vda", "", true)
	tests := []nameCase{
		{"first clone", []*bootenv.Image{booted}, nil, onTarget{disk: "/dev/vdb"}, []string{"sysimage_000"}, "sysimage_001"},
		{"second clone to another disk",
			[]*bootenv.Image{booted, img("sysimage_001", "/dev/vdb", "", false)},
			bootenv.DeviceTable{{Path: "/dev/vdb2", Disk: "/dev/vdb", ID: bootenv.DevID{PartLabel: "drd-sysimage_001-root", Label: "drd001-root"}}},
			onTarget{disk: "/dev/vdc"}, []string{"sysimage_000", "sysimage_001"}, "sysimage_002"},
		{"again to the same disk",
			[]*bootenv.Image{booted, img("sysimage_001", "/dev/vdb", "", false)},
			bootenv.DeviceTable{{Path: "/dev/vdb2", Disk: "/dev/vdb", ID: bootenv.DevID{PartLabel: "drd-sysimage_001-root", Label: "drd001-root"}}},
			onTarget{disk: "/dev/vdb"}, []string{"sysimage_000"}, "sysimage_001"},
		{"again to the same image file, not attached now",
			[]*bootenv.Image{booted, img("sysimage_001", "/dev/loop7", "/srv/a.img", false), img("sysimage_002", "/dev/loop8", "/srv/b.img", false)},
			nil, onTarget{file: "/srv/a.img"}, []string{"sysimage_000", "sysimage_002"}, "sysimage_001"},
		{"labels of another system's image and a half-made partition",
			[]*bootenv.Image{booted},
			bootenv.DeviceTable{
				{Path: "/dev/vdd", Disk: "/dev/vdd"},
				{Path: "/dev/vdd1", Disk: "/dev/vdd", ID: bootenv.DevID{Label: "DRD001-ESP"}},
				{Path: "/dev/loop3p2", Disk: "/dev/loop3", ID: bootenv.DevID{PartLabel: "drd-sysimage_002-boot"}},
				{Path: "/dev/sda1", Disk: "/dev/sda", ID: bootenv.DevID{Label: "data"}},
			},
			onTarget{disk: "/dev/vdb"}, []string{"sysimage_000", "sysimage_001", "sysimage_002"}, "sysimage_003"},
		{"a partition on the attached target file",
			[]*bootenv.Image{booted},
			bootenv.DeviceTable{
				{Path: "/dev/loop3", Disk: "/dev/loop3", BackingFile: "/srv/a.img"},
				{Path: "/dev/loop3p2", Disk: "/dev/loop3", ID: bootenv.DevID{PartLabel: "drd-sysimage_004-root"}},
			},
			onTarget{file: "/srv/a.img"}, []string{"sysimage_000"}, "sysimage_001"},
		{"an LV label with no disk, its image on the target",
			[]*bootenv.Image{booted, img("sysimage_001", "/dev/vdb", "", false)},
			bootenv.DeviceTable{{Path: "/dev/dm-3", Disk: "/dev/dm-3", ID: bootenv.DevID{Label: "drd001-root"}}},
			onTarget{disk: "/dev/vdb"}, []string{"sysimage_000"}, "sysimage_001"},
		{"the booted clone, the original elsewhere",
			[]*bootenv.Image{img("sysimage_001", "/dev/vdb", "", true), img("sysimage_000", "/dev/vda", "", false)},
			nil, onTarget{disk: "/dev/vda"}, []string{"sysimage_001"}, "sysimage_000"},
	}
	gone := &bootenv.Image{Record: bootenv.Record{Name: "sysimage_001", Target: "/srv/gone.img"}, Missing: "its image file is gone"}
	tests = append(tests,
		nameCase{"a clone whose file is gone, in the records", []*bootenv.Image{booted, gone}, nil, onTarget{file: "/srv/new.img"}, []string{"sysimage_000", "sysimage_001"}, "sysimage_002"},
		nameCase{"again to the file that is gone", []*bootenv.Image{booted, gone}, nil, onTarget{file: "/srv/gone.img"}, []string{"sysimage_000"}, "sysimage_001"},
		// A lower name freed meanwhile (another image deleted): the clone
		// again to the same target keeps its name.
		nameCase{"again to the same disk, a lower name free",
			[]*bootenv.Image{booted, img("sysimage_002", "/dev/vdb", "", false)}, nil,
			onTarget{disk: "/dev/vdb"}, []string{"sysimage_000"}, "sysimage_002"},
		nameCase{"again to the file that is gone, a lower name free",
			[]*bootenv.Image{booted, {Record: bootenv.Record{Name: "sysimage_003", Target: "/srv/gone.img"}, Missing: "its image file is gone"}}, nil,
			onTarget{file: "/srv/gone.img"}, []string{"sysimage_000"}, "sysimage_003"},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &bootenv.Status{}
			for _, img := range tt.images {
				if img.Missing != "" {
					st.Missing = append(st.Missing, img)
				} else {
					st.Images = append(st.Images, img)
				}
			}
			taken := takenNames(st, tt.devs, tt.target)
			var got []string
			for n, ok := range taken {
				if ok {
					got = append(got, n)
				}
			}
			sort.Strings(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("taken %v, want %v", got, tt.want)
			}
			if name, err := pickName(taken, keptName(st, tt.target)); err != nil || name != tt.free {
				t.Errorf("the clone's name = %s, %v; want %s", name, err, tt.free)
			}
		})
	}
}

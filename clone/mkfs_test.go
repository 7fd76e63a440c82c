package clone

import (
	"reflect"
	"strings"
	"testing"
)

const tune2fsOut = `tune2fs 1.47.0 (5-Feb-2023)
Filesystem volume name:   root
Filesystem UUID:          11111111-1111-1111-1111-111111111111
Filesystem features:      has_journal ext_attr resize_inode dir_index filetype needs_recovery extent 64bit flex_bg sparse_super large_file huge_file dir_nlink extra_isize metadata_csum
Block count:              262144
Reserved block count:     13107
Block size:               4096
Inode size:	          256
`

func TestParseTune2fs(t *testing.T) {
	p, err := parseTune2fs([]byte(tune2fsOut))
	if err != nil {
		t.Fatal(err)
	}
	if p.blockSize != 4096 || p.inodeSize != 256 || p.reserved != 5 {
		t.Errorf("got %+v", p)
	}
	for _, f := range p.features {
		if f == "needs_recovery" {
			t.Error("runtime feature needs_recovery passed on")
		}
	}
	if _, err := parseTune2fs([]byte("Filesystem features: has_journal journal_dev\nBlock size: 4096\n")); err == nil {
		t.Error("external journal accepted")
	}
	if _, err := parseTune2fs([]byte("garbage")); err == nil {
		t.Error("garbage accepted")
	}
}

func TestMkfsExtArgs(t *testing.T) {
	p := extParams{features: []string{"has_journal", "extent"}, blockSize: 4096, inodeSize: 256, reserved: 5}
	got := mkfsExtArgs("ext4", p, "/dev/loop1p3", "drd001-root", "u-u-i-d", 1<<30, 100)
	want := strings.Fields("-t ext4 -F -q -O none,has_journal,extent -b 4096 -L drd001-root -U u-u-i-d -m 5 -E lazy_itable_init=1,lazy_journal_init=1 -I 256 /dev/loop1p3")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// Many used inodes on a small target: -N grows past the default.
	got = mkfsExtArgs("ext4", p, "/dev/x", "l", "u", 1<<30, 200000)
	if got[len(got)-3] != "-N" || got[len(got)-2] != "251024" {
		t.Errorf("want -N 251024, got %q", got)
	}
}

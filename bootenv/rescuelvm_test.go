package bootenv

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/drd-linux/drd/images/lvm2"
)

// pvFixture reads a physical volume of images/lvm2's fixtures: VG
// drdtest_isllvm, LVs root (over both PVs), var (pv2), stripe (both).
func pvFixture(t *testing.T, name, path, dev string) lvm2.Found {
	t.Helper()
	f, err := os.Open("../images/lvm2/testdata/" + name)
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
	pv, err := lvm2.ReadPV(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return lvm2.Found{Path: path, Dev: dev, PV: pv}
}

type fakeMapper struct {
	made []string
	fail string // the name whose Create fails
}

func (f *fakeMapper) Create(d lvm2.Device) (uint32, uint32, error) {
	if d.Name == f.fail {
		return 0, 0, errors.New("ioctl DM_TABLE_LOAD: invalid argument")
	}
	f.made = append(f.made, d.Name)
	return 254, uint32(len(f.made) - 1), nil
}

func TestActivateLVM(t *testing.T) {
	pv1 := pvFixture(t, "pv1.img.gz", "/dev/vdb", "254:16")
	pv2 := pvFixture(t, "pv2.img.gz", "/dev/vdc", "254:32")

	t.Run("whole", func(t *testing.T) {
		m := &fakeMapper{}
		lvm, warnings := activateLVM([]lvm2.Found{pv1, pv2}, map[string][2]uint32{"drdtest_isllvm-var": {254, 9}}, m)
		if len(warnings) > 0 {
			t.Errorf("warnings %q", warnings)
		}
		if want := []string{"drdtest_isllvm-root", "drdtest_isllvm-stripe"}; !slices.Equal(m.made, want) {
			t.Errorf("made %q, want %q (var exists already)", m.made, want)
		}
		if len(lvm.LVs) != 3 || len(lvm.PVs) != 2 || len(lvm.VGs) != 1 {
			t.Fatalf("LVM %+v", lvm)
		}
		for _, lv := range lvm.LVs {
			if !lv.Active() || lv.VG != "drdtest_isllvm" {
				t.Errorf("%+v: not active in its VG", lv)
			}
			if lv.Name == "var" && (lv.Major != 254 || lv.Minor != 9 || lv.Size != 4<<20) {
				t.Errorf("var %+v: want the existing 254:9, 4 MiB", lv)
			}
		}
	})
	t.Run("disk gone", func(t *testing.T) {
		m := &fakeMapper{}
		lvm, warnings := activateLVM([]lvm2.Found{pv1}, nil, m)
		if len(m.made) != 0 {
			t.Errorf("made %q: every LV touches the missing PV", m.made)
		}
		all := strings.Join(warnings, "\n")
		if !strings.Contains(all, "volume group drdtest_isllvm is incomplete: physical volume HHhUwY-NZEP-GdAS-4rGI-JSFy-teTb-86SkOO (last seen as /dev/loop1) is missing") {
			t.Errorf("warnings do not name the missing PV:\n%s", all)
		}
		if !strings.Contains(all, "logical volume drdtest_isllvm/var not activated") {
			t.Errorf("warnings do not name var:\n%s", all)
		}
		if len(lvm.VGs) != 1 || len(lvm.PVs) != 1 || len(lvm.LVs) != 0 {
			t.Errorf("LVM %+v", lvm)
		}
	})
	t.Run("one fails", func(t *testing.T) {
		m := &fakeMapper{fail: "drdtest_isllvm-root"}
		lvm, warnings := activateLVM([]lvm2.Found{pv1, pv2}, nil, m)
		if len(warnings) != 1 || !strings.Contains(warnings[0], "drdtest_isllvm/root not activated: ioctl") {
			t.Errorf("warnings %q", warnings)
		}
		if len(lvm.LVs) != 2 || len(m.made) != 2 {
			t.Errorf("LVs %+v, made %q: the others must be made", lvm.LVs, m.made)
		}
	})
	t.Run("no mapper", func(t *testing.T) {
		lvm, _ := activateLVM([]lvm2.Found{pv1, pv2}, nil, nil)
		for _, lv := range lvm.LVs {
			if lv.Active() {
				t.Errorf("%+v active without a mapper", lv)
			}
		}
	})
}

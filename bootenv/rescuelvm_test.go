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
		lvm, problems := activateLVM([]lvm2.Found{pv1, pv2}, map[string][2]uint32{"drdtest_isllvm-var": {254, 9}}, m)
		if len(problems) > 0 {
			t.Errorf("problems %+v", problems)
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
		lvm, problems := activateLVM([]lvm2.Found{pv1}, nil, m)
		if len(m.made) != 0 {
			t.Errorf("made %q: every LV touches the missing PV", m.made)
		}
		vg := problemOf(problems, VGIncomplete, "volume group drdtest_isllvm")
		if vg == nil || vg.Why != "physical volume HHhUwY-NZEP-GdAS-4rGI-JSFy-teTb-86SkOO (last seen as /dev/loop1) is missing" || !strings.Contains(vg.Action, "attach its disk") {
			t.Errorf("problems do not name the missing PV and what to do: %+v", problems)
		}
		if lv := problemOf(problems, LVNotActivated, "logical volume drdtest_isllvm/var"); lv == nil || lv.Why == "" || lv.Action == "" {
			t.Errorf("problems do not name var, why and what to do: %+v", problems)
		}
		if len(lvm.VGs) != 1 || len(lvm.PVs) != 1 || len(lvm.LVs) != 0 {
			t.Errorf("LVM %+v", lvm)
		}
	})
	t.Run("one fails", func(t *testing.T) {
		m := &fakeMapper{fail: "drdtest_isllvm-root"}
		lvm, problems := activateLVM([]lvm2.Found{pv1, pv2}, nil, m)
		if len(problems) != 1 || problems[0].Kind != LVNotActivated || problems[0].What != "logical volume drdtest_isllvm/root" ||
			problems[0].Why != "ioctl DM_TABLE_LOAD: invalid argument" {
			t.Errorf("problems %+v, want root not activated with the mapper's error", problems)
		}
		if len(lvm.LVs) != 2 || len(m.made) != 2 {
			t.Errorf("LVs %+v, made %q: the others must be made", lvm.LVs, m.made)
		}
	})
	t.Run("metadata that does not parse", func(t *testing.T) {
		bad := lvm2.Found{Path: "/dev/vdd", Dev: "254:48", PV: lvm2.PV{UUID: "bad", Metadata: []byte("drdtest {\n")}}
		lvm, problems := activateLVM([]lvm2.Found{pv1, pv2, bad}, nil, &fakeMapper{})
		if len(problems) != 1 || problems[0].Kind != LVMUnreadable || problems[0].Device != "/dev/vdd" ||
			problems[0].What != "LVM physical volume /dev/vdd" || problems[0].Why == "" || !strings.Contains(problems[0].Action, "pvck /dev/vdd") {
			t.Errorf("problems %+v, want /dev/vdd's metadata unreadable", problems)
		}
		if len(lvm.LVs) != 3 {
			t.Errorf("LVs %+v: the whole volume group's must be made", lvm.LVs)
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

// problemOf is the problem of kind about what, nil if there is none.
func problemOf(problems []Problem, kind ProblemKind, what string) *Problem {
	for i, p := range problems {
		if p.Kind == kind && p.What == what {
			return &problems[i]
		}
	}
	return nil
}

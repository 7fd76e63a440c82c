package lvm2_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/images/lvm2"
)

// TestAgainstLVMTools makes a VG of two PVs on loop devices with LVM's
// own tools (metadata only: --driverloaded n, so it works without
// device-mapper) and checks that what ReadPV, Assemble and Tables make
// of the disks is what lvs reports: each LV's segments on the same PV
// extents. The VG is the test's own (a unique name, --devices limited
// to its loops) and removed at the end.
func TestAgainstLVMTools(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (loop devices)")
	}
	if _, err := exec.LookPath("lvm"); err != nil {
		t.Skip("no LVM tools")
	}
	t.Setenv("LVM_SUPPRESS_FD_WARNINGS", "1")
	dir := t.TempDir()
	var loops []string
	for _, name := range []string{"a.img", "b.img"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, 48<<20); err != nil {
			t.Fatal(err)
		}
		dev, err := images.AttachLoop(p, false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := images.DetachLoop(dev); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		})
		loops = append(loops, dev)
	}
	vgName := fmt.Sprintf("drdtest_lvm2_%d", os.Getpid())
	opts := []string{"--devices", strings.Join(loops, ","), "--driverloaded", "n", "-q"}
	lvm := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("lvm", append(args[:1:1], append(opts, args[1:]...)...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("lvm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	lvm("pvcreate", "-y", loops[0], loops[1])
	lvm("vgcreate", "-s", "1M", vgName, loops[0], loops[1])
	t.Cleanup(func() { lvm("vgremove", "-ff", "-y", vgName) })
	lvm("lvcreate", "-an", "-Zn", "-y", "-L", "6M", "-n", "root", vgName, loops[0])
	lvm("lvcreate", "-an", "-Zn", "-y", "-L", "3M", "-n", "my-var", vgName, loops[1])
	lvm("lvextend", "-L", "9M", vgName+"/root", loops[1])
	lvm("lvcreate", "-an", "-Zn", "-y", "-i", "2", "-I", "64k", "-L", "4M", "-n", "stripe", vgName)

	// What the tools say: LV → its segments' PE ranges (device:first-last).
	want := map[string]string{}
	for _, line := range strings.Split(lvm("lvs", "--noheadings", "--segments", "--separator", "|", "-o", "lv_name,seg_pe_ranges", vgName), "\n") {
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) == 2 {
			want[lvm2.DMName(vgName, f[0])] += strings.TrimSpace(f[1]) + ";"
		}
	}

	if len(want) != 3 {
		t.Fatalf("lvs reports %v, want root, my-var and stripe", want)
	}
	var found []lvm2.Found
	numbers := map[string]string{}
	for _, dev := range loops {
		var st unix.Stat_t
		if err := unix.Stat(dev, &st); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(dev)
		if err != nil {
			t.Fatal(err)
		}
		pv, err := lvm2.ReadPV(f, 48<<20)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", dev, err)
		}
		n := fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		numbers[n] = dev
		found = append(found, lvm2.Found{Path: dev, Dev: n, PV: pv})
	}
	groups, errs := lvm2.Assemble(found)
	if len(errs) > 0 || len(groups) != 1 || groups[0].VG.Name != vgName {
		t.Fatalf("groups %+v, errors %v", groups, errs)
	}
	vg := groups[0].VG
	devs, skipped := lvm2.Tables(vg, groups[0].PVs)
	if len(skipped) > 0 {
		t.Errorf("skipped %v", skipped)
	}
	// The tables, back to PE ranges: offset = pe_start + extent * size.
	got := map[string]string{}
	for _, d := range devs {
		for _, tg := range d.Targets {
			f := strings.Fields(tg.Params)
			if tg.Type == "striped" {
				f = f[2:]
			}
			var ranges []string
			per := tg.Length / vg.ExtentSize / int64(len(f)/2)
			for i := 0; i < len(f); i += 2 {
				var off int64
				fmt.Sscan(f[i+1], &off)
				first := (off - 2048) / vg.ExtentSize
				ranges = append(ranges, fmt.Sprintf("%s:%d-%d", numbers[f[i]], first, first+per-1))
			}
			got[d.Name] += strings.Join(ranges, " ") + ";"
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("from the disks\n%v\nlvs says\n%v", got, want)
	}
	if vg.PVs[0].PEStart != 2048 {
		t.Errorf("pe_start %d: the check above assumes 2048", vg.PVs[0].PEStart)
	}
}

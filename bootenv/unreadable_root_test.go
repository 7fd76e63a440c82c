package bootenv_test

import (
	"context"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/internal/testsys"
)

// TestScanListsEveryImageButAnUnreadableOne clones a system to two loop
// disks and damages the second clone's root file system (damage). Scan still lists the first clone, and reports the second
// device as a problem (what, why, what to do), not as missing.
func TestScanListsEveryImageButAnUnreadableOne(t *testing.T) {
	s := testsys.ForTest(t, testsys.Options{})
	ctx := context.Background()
	var disks []string
	for _, name := range []string{"good.img", "bad.img"} {
		disk := testsys.LoopDisk(t, name, 1<<30)
		if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: disk}, report.Func(t.Logf)); err != nil {
			t.Fatal(err)
		}
		disks = append(disks, disk)
	}
	st, err := bootenv.Scan(ctx, s.Root)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	var badRoot string
	for _, img := range st.Images[1:] {
		names[img.Disk] = img.Name
		for _, f := range img.FileSystems {
			if img.Disk == disks[1] && f.MountPoint == "/" {
				badRoot = f.Device
			}
		}
	}
	if len(names) != 2 || badRoot == "" {
		t.Fatalf("before the damage: clones %v, root of the second %q", names, badRoot)
	}

	damage(t, badRoot)
	check(t, s.Root, names[disks[0]], names[disks[1]], badRoot, disks[1])

	// The same when the booted image's history does not know the clones
	// (it was cloned from another image, or its records were restored).
	rec, err := bootenv.BootedRecord(s.Root)
	if err != nil {
		t.Fatal(err)
	}
	rec.History = nil
	if err := bootenv.WriteRecord(s.Root, rec); err != nil {
		t.Fatal(err)
	}
	check(t, s.Root, names[disks[0]], names[disks[1]], badRoot, disks[1])
}

// check scans root and checks that it lists the image good and reports
// the device badRoot on disk, called bad, as unreadable.
func check(t *testing.T, root, good, bad, badRoot, disk string) {
	t.Helper()
	st, err := bootenv.Scan(context.Background(), root)
	if err != nil {
		t.Fatalf("Scan with one clone unreadable: %v", err)
	}
	var listed []string
	for _, img := range st.Images[1:] {
		listed = append(listed, img.Name)
	}
	if len(listed) != 1 || listed[0] != good {
		t.Errorf("images listed %v, want the readable clone %s", listed, good)
	}
	if len(st.Problems) != 1 {
		t.Fatalf("problems %+v, want one: the damaged clone", st.Problems)
	}
	p := st.Problems[0]
	if p.Kind != bootenv.Unreadable || p.Device != badRoot || p.Disk != disk || p.Image != bad {
		t.Errorf("problem %+v, want %s unreadable on %s, called %s", p, badRoot, disk, bad)
	}
	for _, want := range []string{badRoot, bad} {
		if !strings.Contains(p.What, want) {
			t.Errorf("the problem's what %q does not name %q", p.What, want)
		}
	}
	if !strings.Contains(p.Why, "mounting") || !strings.Contains(p.Action, "fsck -n "+badRoot) {
		t.Errorf("the problem says neither why (%q) nor what to do (%q)", p.Why, p.Action)
	}
	for _, img := range st.Missing {
		t.Errorf("%s is listed as missing (%s), but its disk is there", img.Name, img.Missing)
	}
}

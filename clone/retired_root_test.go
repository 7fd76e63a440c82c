package clone

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/report"
)

// TestCloneOntoRetiredImage is the A/B rotation on loop devices: clone
// to a disk, the booted image passes a trial (its record says good, as
// boot-check writes it), drd commit retires the clone, and a new clone
// to the retired image's disk needs no -x overwrite=true. A disk with
// other data is still refused.
func TestCloneOntoRetiredImage(t *testing.T) {
	if testing.Short() {
		t.Skip("root test")
	}
	ctx := context.Background()
	s := buildSource(t)
	img := filepath.Join(t.TempDir(), "b.img")
	makeImage(t, img, 2<<30)
	dev := attach(t, img)
	t.Cleanup(func() { images.HidePartitions(dev) })
	if err := Run(ctx, Options{Root: s.Root, Target: dev}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	m := bootenv.Real(s.Root)

	// Not yet committed: the clone is complete, and a clone over it
	// needs -x overwrite=true.
	err := Run(ctx, Options{Root: s.Root, Target: dev}, report.Discard)
	if err == nil || !strings.Contains(err.Error(), "-x overwrite=true") {
		t.Fatalf("a clone over a complete (not retired) image: %v, want a refusal naming -x overwrite=true", err)
	}
	// Commit refused: the booted image has not passed a trial boot.
	if _, err := m.Commit(ctx, bootenv.CommitOptions{}, report.Func(t.Logf)); err == nil || !strings.Contains(err.Error(), "not good") {
		t.Fatalf("commit of an image that never passed a trial: %v", err)
	}
	if st := scanState(t, m, dev); st != bootenv.Complete {
		t.Fatalf("after a refused commit the clone is %s, want complete (nothing changed)", st)
	}

	// The booted image passed its trial: boot-check's mark.
	rec, err := bootenv.ReadRecord(s.Root)
	if err != nil {
		t.Fatal(err)
	}
	_, mark := bootenv.PassTrial(bootenv.BootState{}, rec.Name)
	rec.State = mark.State
	rec.AddEvent(mark.Action, mark.Result, mark.Detail)
	if err := bootenv.WriteRecord(s.Root, rec); err != nil {
		t.Fatal(err)
	}
	p, err := m.Commit(ctx, bootenv.CommitOptions{Preview: true}, report.Func(t.Logf))
	if err != nil || len(p.Changes) != 1 {
		t.Fatalf("commit -p: %+v, %v", p, err)
	}
	if st := scanState(t, m, dev); st != bootenv.Complete {
		t.Fatalf("after commit -p the clone is %s, want complete (nothing changed)", st)
	}
	if p, err = m.Commit(ctx, bootenv.CommitOptions{}, report.Func(t.Logf)); err != nil || len(p.Changes) != 1 || p.Changes[0].To != bootenv.Retired {
		t.Fatalf("commit: %+v, %v", p, err)
	}
	if st := scanState(t, m, dev); st != bootenv.Retired {
		t.Fatalf("after commit the clone is %s, want retired", st)
	}

	// The rotation: a clone to the retired image's disk, no overwrite.
	if err := Run(ctx, Options{Root: s.Root, Target: dev}, report.Func(t.Logf)); err != nil {
		t.Fatalf("a clone over the retired image: %v", err)
	}
	if st := scanState(t, m, dev); st != bootenv.Complete {
		t.Fatalf("the new clone is %s, want complete", st)
	}
	verifyClone(t, s, openClone(t, dev))

	// A disk with other data is still refused.
	other := filepath.Join(t.TempDir(), "other.img")
	makeImage(t, other, 2<<30)
	odev := attach(t, other)
	if out, err := exec.Command("mkfs.ext4", "-q", "-L", "data", odev).CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	err = Run(ctx, Options{Root: s.Root, Target: odev}, report.Discard)
	if err == nil || !strings.Contains(err.Error(), "carries data") || !strings.Contains(err.Error(), "-x overwrite=true") {
		t.Fatalf("a disk with other data: %v, want a refusal naming -x overwrite=true", err)
	}
}

// scanState is the state of the image on disk, as Scan finds it.
func scanState(t *testing.T, m bootenv.Machine, disk string) bootenv.State {
	t.Helper()
	st, err := m.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range st.Images {
		if img.Disk == disk {
			return img.State
		}
	}
	t.Fatalf("no image on %s", disk)
	return ""
}

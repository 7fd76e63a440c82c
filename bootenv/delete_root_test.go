package bootenv_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/internal/testsys"
)

// TestDeleteAndForget deletes a clone in an image file (after a preview
// that changes nothing, and refusals of the booted image and of a file
// the administrator attached), a clone on a disk (a loop device), and
// forgets a clone whose file was removed by hand.
func TestDeleteAndForget(t *testing.T) {
	s := testsys.ForTest(t, testsys.Options{})
	ctx := context.Background()
	dir := t.TempDir()
	file, gone := filepath.Join(dir, "clone.img"), filepath.Join(dir, "gone.img")
	disk := testsys.LoopDisk(t, "disk.img", 2<<30)
	names := map[string]string{}
	for _, target := range []string{file, gone, disk} {
		if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: target}, report.Func(t.Logf)); err != nil {
			t.Fatal(err)
		}
	}
	scan := func() *bootenv.Status {
		t.Helper()
		st, err := bootenv.Scan(ctx, s.Root)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	for _, img := range scan().Images[1:] {
		names[img.Target] = img.Name
	}
	if len(names) != 3 {
		t.Fatalf("clones %v, want 3", names)
	}
	del := func(name string, forget, preview bool) error {
		return bootenv.Delete(ctx, s.Root, bootenv.DeleteOptions{Image: name, Forget: forget, Preview: preview}, report.Func(t.Logf))
	}

	if err := del("sysimage_000", false, false); err == nil || !strings.Contains(err.Error(), "is the booted image") {
		t.Errorf("delete of the booted image: %v", err)
	}
	if err := del(names[file], false, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); err != nil || len(scan().Images) != 4 {
		t.Fatalf("the preview changed something: %v", err)
	}
	out, err := exec.Command("losetup", "--find", "--show", file).Output()
	if err != nil {
		t.Fatal(err)
	}
	theirs := strings.TrimSpace(string(out))
	err = del(names[file], false, false)
	if images.LoopBackingFile("/sys", theirs) == file {
		exec.Command("losetup", "-d", theirs).Run()
	}
	if err == nil || !strings.Contains(err.Error(), "losetup -d "+theirs) {
		t.Errorf("delete of a file the administrator attached: %v", err)
	}
	if err := del(names[file], false, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("the image file is still there: %v", err)
	}
	if fs := bootenv.ImageFiles(s.Root); len(fs) != 1 || fs[0] != gone {
		t.Errorf("registered image files %q, want only %s", fs, gone)
	}

	if err := del(disk, false, false); err != nil {
		t.Fatal(err)
	}
	if parts, err := images.ReadGPT(disk); err == nil {
		t.Errorf("%s still has a partition table: %+v", disk, parts)
	}

	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	st := scan()
	if len(st.Images) != 1 || len(st.Missing) != 1 || st.Missing[0].Name != names[gone] {
		t.Fatalf("after deletes and rm: images %d, missing %+v; want the booted one and %s missing", len(st.Images), st.Missing, names[gone])
	}
	if err := del(names[gone], true, false); err != nil {
		t.Fatal(err)
	}
	if st := scan(); len(st.Images) != 1 || len(st.Missing) != 0 {
		t.Errorf("after forget: images %d, missing %+v", len(st.Images), st.Missing)
	}
}

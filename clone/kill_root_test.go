package clone

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/report"
)

// TestHelperCloneProcess is not a test: TestCloneKilled runs it in a child
// process to clone, so that the child can be killed with SIGKILL.
func TestHelperCloneProcess(t *testing.T) {
	root, target := os.Getenv("DRD_HELPER_ROOT"), os.Getenv("DRD_HELPER_TARGET")
	if root == "" {
		t.Skip("helper process only")
	}
	Run(context.Background(), Options{Root: root, Target: target}, report.Discard)
	os.Exit(0)
}

func TestCloneKilled(t *testing.T) {
	s := buildSource(t)
	big := filepath.Join(s.Root, "big")
	if out, err := exec.Command("dd", "if=/dev/urandom", "of="+big, "bs=1M", "count=400", "status=none").CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	target := filepath.Join(t.TempDir(), "clone.img")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCloneProcess$")
	cmd.Env = append(os.Environ(), "DRD_HELPER_ROOT="+s.Root, "DRD_HELPER_TARGET="+target)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Whatever happens below, release what the killed clone left mounted
	// and attached, before the source system is taken down.
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		opt := Options{Root: s.Root, Target: target}
		opt.defaults()
		if err := releaseStale(context.Background(), opt, report.Discard); err != nil {
			t.Error(err)
		}
	})
	// Kill it with SIGKILL as soon as it copies: its record says cloning.
	cloneRoot := filepath.Join(s.Root, bootenv.MountsDir, ".clone-sysimage_001/0")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if rec, err := bootenv.ReadRecord(cloneRoot); err == nil && rec.State == bootenv.Cloning {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the clone never reached its copy")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()

	st, err := bootenv.Scan(context.Background(), s.Root)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Images) != 2 || st.Images[1].State != bootenv.Broken {
		for _, img := range st.Images {
			t.Logf("image %s state %s", img.Name, img.State)
		}
		t.Fatal("after kill -9, status does not show the clone as broken")
	}
	// The booted image changed only in drd's own records.
	if entries, _ := os.ReadDir(filepath.Join(s.Root, "var/opt/drd")); len(entries) > 0 {
		for _, e := range entries {
			if n := e.Name(); n != "mnts" && n != "image.json" && n != "image-files" && !strings.HasPrefix(n, ".") {
				t.Errorf("unexpected file in the booted image's /var/opt/drd: %s", n)
			}
		}
	}
	if err := Run(context.Background(), Options{Root: s.Root, Target: target, Overwrite: true}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	verifyClone(t, s, openClone(t, target))
}

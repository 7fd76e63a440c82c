package clone

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/internal/testsys"
)

// TestHelperCloneProcess is not a test: the kill tests run it in a child
// process to clone, so that the child can be killed with SIGKILL. With
// DRD_HELPER_STOP set, it stops at the clone's first mkfs ("before" it
// runs, or "after") and says so by creating the file DRD_HELPER_STOPPED.
func TestHelperCloneProcess(t *testing.T) {
	root, target := os.Getenv("DRD_HELPER_ROOT"), os.Getenv("DRD_HELPER_TARGET")
	if root == "" {
		t.Skip("helper process only")
	}
	opt := Options{Root: root, Target: target}
	if stop := os.Getenv("DRD_HELPER_STOP"); stop != "" {
		opt.Runner = stopAtMkfs{when: stop, flag: os.Getenv("DRD_HELPER_STOPPED")}
	}
	Run(context.Background(), opt, report.Discard)
	os.Exit(0)
}

// stopAtMkfs runs programs for real but stops the process for good at the
// first mkfs, before or after running it, so that a test kills the clone
// at a known step: after its partition table, before its record.
type stopAtMkfs struct{ when, flag string }

func (s stopAtMkfs) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	if name != "mkfs" {
		return execrun.Real{}.Run(ctx, name, args...)
	}
	if s.when == "after" {
		if out, err := (execrun.Real{}).Run(ctx, name, args...); err != nil {
			return out, err
		}
	}
	if f, err := os.Create(s.flag); err == nil {
		f.Close()
	}
	select {} // until SIGKILL
}

// startClone runs a clone of s to target in a child process with the
// extra environment env. Whatever happens, the test's cleanup kills the
// child and releases what it left mounted and attached, before the source
// system is taken down.
func startClone(t *testing.T, s *testsys.System, target string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCloneProcess$")
	cmd.Env = append(append(os.Environ(), "DRD_HELPER_ROOT="+s.Root, "DRD_HELPER_TARGET="+target), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		opt := Options{Root: s.Root, Target: target}
		opt.defaults()
		if err := releaseStale(context.Background(), opt, report.Discard); err != nil {
			t.Error(err)
		}
	})
	return cmd
}

// waitFor polls until ready says yes, for a minute at most.
func waitFor(t *testing.T, cmd *exec.Cmd, what string, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ready() {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the clone never reached %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// scanBroken scans s and wants its clone listed as broken.
func scanBroken(t *testing.T, s *testsys.System) *bootenv.Image {
	t.Helper()
	st, err := bootenv.Scan(context.Background(), s.Root)
	if err != nil {
		t.Fatalf("drd status after kill -9: %v", err)
	}
	if len(st.Images) != 2 || st.Images[1].State != bootenv.Broken {
		for _, img := range st.Images {
			t.Logf("image %s state %s", img.Name, img.State)
		}
		t.Fatal("after kill -9, status does not show the clone as broken")
	}
	return st.Images[1]
}

// recloneOverwrite runs the clone again, as the broken clone's reason says,
// and checks the result.
func recloneOverwrite(t *testing.T, s *testsys.System, target string) {
	t.Helper()
	if err := Run(context.Background(), Options{Root: s.Root, Target: target, Overwrite: true}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	verifyClone(t, s, openClone(t, target))
	st, err := bootenv.Scan(context.Background(), s.Root)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Images) != 2 || st.Images[1].State != bootenv.Complete {
		for _, img := range st.Images {
			t.Logf("image %s state %s", img.Name, img.State)
		}
		t.Fatal("after the clone again, status does not show one complete clone")
	}
}

func TestCloneKilled(t *testing.T) {
	s := buildSource(t)
	big := filepath.Join(s.Root, "big")
	if out, err := exec.Command("dd", "if=/dev/urandom", "of="+big, "bs=1M", "count=400", "status=none").CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	target := filepath.Join(t.TempDir(), "clone.img")
	cmd := startClone(t, s, target)
	// Kill it with SIGKILL as soon as it copies: its record says cloning.
	// (Its name is any free one: other tests' clones may hold sysimage_001.)
	waitFor(t, cmd, "its copy", func() bool {
		roots, _ := filepath.Glob(filepath.Join(s.Root, bootenv.MountsDir, ".clone-sysimage_*/0"))
		for _, cloneRoot := range roots {
			if rec, err := bootenv.ReadRecord(cloneRoot); err == nil && rec.State == bootenv.Cloning {
				return true
			}
		}
		return false
	})
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()

	img := scanBroken(t, s)
	if !strings.Contains(img.Reason, "was interrupted; run drd clone -t "+target+" -x overwrite=true again") {
		t.Errorf("reason %q does not say what to do", img.Reason)
	}
	// The booted image changed only in drd's own records.
	if entries, _ := os.ReadDir(filepath.Join(s.Root, "var/opt/drd")); len(entries) > 0 {
		for _, e := range entries {
			if n := e.Name(); n != "mnts" && n != "image.json" && n != "image-files" && !strings.HasPrefix(n, ".") {
				t.Errorf("unexpected file in the booted image's /var/opt/drd: %s", n)
			}
		}
	}
	recloneOverwrite(t, s, target)
}

// TestCloneKilledBeforeItsRecord kills a clone after it wrote the target's
// partition table and before it wrote its record: while it makes the file
// systems. drd status must still list it, broken, and say what to do.
func TestCloneKilledBeforeItsRecord(t *testing.T) {
	for _, when := range []string{"before", "after"} {
		t.Run(when+" mkfs of the root", func(t *testing.T) {
			s := buildSource(t)
			target := filepath.Join(t.TempDir(), "clone.img")
			stopped := filepath.Join(t.TempDir(), "stopped")
			cmd := startClone(t, s, target, "DRD_HELPER_STOP="+when, "DRD_HELPER_STOPPED="+stopped)
			waitFor(t, cmd, "mkfs", func() bool { _, err := os.Stat(stopped); return err == nil })
			cmd.Process.Kill()
			cmd.Wait()

			img := scanBroken(t, s)
			if !regexp.MustCompile(`^sysimage_\d{3}$`).MatchString(img.Name) || img.Name == "sysimage_000" || img.ImageFile != target || img.Target != target {
				t.Errorf("listed as %s on %s (file %q, target %q), want a clone's name in %s", img.Name, img.Disk, img.ImageFile, img.Target, target)
			}
			if want := "the clone to " + target + " was interrupted before it wrote its record; run drd clone -t " + target + " -x overwrite=true again"; img.Reason != want {
				t.Errorf("reason %q, want %q", img.Reason, want)
			}
			recloneOverwrite(t, s, target)
		})
	}
}

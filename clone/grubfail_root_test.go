package clone

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/report"
)

// failGrub runs everything for real but grub-install, which fails.
type failGrub struct{ execrun.Real }

func (f failGrub) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	if name == "grub-install" {
		return nil, errors.New("running \"grub-install\": exit status 1\ngrub-install: error: disk `hostdisk//dev/loop9' not found")
	}
	return f.Real.Run(ctx, name, args...)
}

// GRUB for BIOS that cannot be installed on the target is one rule
// whatever the target is called: an error, and the clone is broken.
// Before, -t /dev/loopN gave ERROR and broken, -t file.img of the same
// disk a WARNING and complete: a clone that cannot boot, passed as good.
func TestGrubFailureIsAnErrorOnEveryTarget(t *testing.T) {
	for _, kind := range []string{"image file", "loop device"} {
		t.Run(kind, func(t *testing.T) {
			s := buildSource(t)
			for _, p := range []string{"boot/grub/i386-pc", "boot/grub"} {
				if err := os.MkdirAll(filepath.Join(s.Root, p), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(s.Root, "boot/grub/grub.cfg"), []byte("set default=0\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(t.TempDir(), "clone.img")
			if kind == "loop device" {
				makeImage(t, target, 2<<30)
				target = attach(t, target)
			}
			var warnings []string
			r := report.Func(t.Logf)
			err := Run(context.Background(), Options{Root: s.Root, Target: target, Runner: failGrub{}}, warnRecorder{r, &warnings})
			want := "the clone cannot boot on its own: fix the cause, then run drd clone -t " + target + " -x overwrite=true again"
			if err == nil || !strings.Contains(err.Error(), "installing GRUB for BIOS") || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v (warnings %q), want an error about GRUB for BIOS saying %q", err, warnings, want)
			}
			rec, err := bootenv.ReadRecord(openClone(t, target).root)
			if err != nil {
				t.Fatal(err)
			}
			if rec.State != bootenv.Broken {
				t.Errorf("the clone's state is %s, want broken", rec.State)
			}
		})
	}
}

// warnRecorder is a Reporter that also keeps the warnings.
type warnRecorder struct {
	report.Reporter
	warns *[]string
}

func (w warnRecorder) Warn(format string, args ...any) {
	*w.warns = append(*w.warns, format)
	w.Reporter.Warn(format, args...)
}

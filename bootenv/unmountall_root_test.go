package bootenv

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/internal/mount"
)

// A Mount that fails half-way undoes what it mounted: every mount it can,
// and a busy one is reported, not dropped.
func TestUnmountAllReportsBusy(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (mounts)")
	}
	base := t.TempDir()
	var dirs []string
	var done []mounted
	for _, n := range []string{"a", "b", "c"} {
		d := filepath.Join(base, n)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		unmount, err := mount.At(mount.Spec{Source: "drd-test", Type: "tmpfs"}, d)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
		done = append(done, mounted{d, unmount})
	}
	busy := dirs[1]
	f, err := os.Create(filepath.Join(busy, "held"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		for _, d := range dirs {
			unix.Unmount(d, unix.MNT_DETACH)
		}
	})
	err = unmountAll(done)
	if !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), busy) {
		t.Errorf("unmountAll = %v, want EBUSY on %s", err, busy)
	}
	for _, d := range []string{dirs[0], dirs[2]} {
		if strings.Contains(err.Error(), d+" ") {
			t.Errorf("unmountAll reports %s, which it could unmount: %v", d, err)
		}
		var ds, bs unix.Stat_t
		if unix.Stat(d, &ds) != nil || unix.Stat(base, &bs) != nil || ds.Dev != bs.Dev {
			t.Errorf("%s is still mounted", d)
		}
	}
}

package main

import (
	"os"
	"strings"
	"testing"

	"github.com/drd-linux/drd/isl"
)

func TestISLInstallCommand(t *testing.T) {
	root := t.TempDir()
	f := &fake{}
	code, _, stderr := drd(t, f, root, "isl", "install", "-p", "-x", "image=/srv/drd-isl.img")
	if code != 0 || len(f.isl) != 1 {
		t.Fatalf("exit %d, %d installs", code, len(f.isl))
	}
	got := f.isl[0]
	if got.Image != "/srv/drd-isl.img" || !got.Preview || got.Machine.Root != root || got.Machine.ProcDir != "/proc" {
		t.Errorf("options %+v", got)
	}
	if !strings.Contains(stderr, "BEGIN Install STAGEISL") || !strings.Contains(stderr, "END Install STAGEISL succeeded") {
		t.Errorf("no banners:\n%s", stderr)
	}
	if _, err := os.Stat(root + "/var/opt/drd/log/event.log"); err == nil {
		t.Error("a preview wrote an event record")
	}

	code, _, _ = drd(t, f, root, "isl", "install")
	if code != 0 || len(f.isl) != 2 || f.isl[1].Image != isl.DefaultImagePath || f.isl[1].Preview {
		t.Fatalf("exit %d, options %+v", code, f.isl[len(f.isl)-1])
	}
	if log, err := os.ReadFile(root + "/var/opt/drd/log/event.log"); err != nil || !strings.Contains(string(log), "isl install") {
		t.Errorf("no event record of isl install: %v\n%s", err, log)
	}

	f.fail = errEngine
	if code, _, stderr := drd(t, f, root, "isl", "install"); code != 1 || !strings.Contains(stderr, "installing STAGEISL: disk on fire") {
		t.Errorf("a failed install: exit %d\n%s", code, stderr)
	}
	for _, args := range [][]string{{"isl"}, {"isl", "bogus"}, {"isl", "install", "extra"}} {
		if code, _, stderr := drd(t, &fake{}, root, args...); code != 1 || !strings.Contains(stderr, "drd isl") {
			t.Errorf("drd %q: exit %d, want a usage error naming drd isl:\n%s", args, code, stderr)
		}
	}
}

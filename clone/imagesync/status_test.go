package imagesync

import (
	"context"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/report"
)

// TestRunTakesTheCallersScan: a scan reads every disk (seconds at
// shutdown on LVM), so Run decides from Options.Status when the caller
// scanned already. This machine has no disks to scan; the status given
// has no inactive image, and Run must say that, not scan.
func TestRunTakesTheCallersScan(t *testing.T) {
	m := bootenv.Machine{Root: t.TempDir(), ProcDir: t.TempDir(), SysDir: t.TempDir()}
	_, err := Run(context.Background(), Options{Machine: m, Image: "sysimage_001", Status: &bootenv.Status{}}, report.Func(t.Logf))
	if err == nil || !strings.Contains(err.Error(), "there is no inactive image") {
		t.Fatalf("Run with a status of no inactive image: %v; want it to decide from that status", err)
	}
}

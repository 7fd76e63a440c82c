package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/u-root/u-root/pkg/cpio"
)

// TestGuestCodePatching proves the harness's QEMU settings against the
// fault that failed CI's Debian 13 boots now and then: under QEMU 7.2's
// multi-threaded TCG, a guest with two vCPUs dies of "Oops: int3" when one
// vCPU runs kernel text another has just patched. The guest here is each
// release's kernel with scripts/e2e/patchstorm as /init, which patches
// that text for a minute while every vCPU runs it. With two vCPUs Debian
// 13's 6.12 died of the oops within seconds in every run (9 of 9) and
// Debian 12's 6.1 locked up ("soft lockup - CPU#1 stuck"); with the
// harness's one vCPU both switched the tracepoints 1,700 to 1,950 times
// a minute and stayed up.
func TestGuestCodePatching(t *testing.T) {
	Require(t)
	for _, r := range Releases {
		t.Run(r.Suite, func(t *testing.T) {
			ctx := context.Background()
			base, _, err := ensureBase(ctx, r, t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			initrd := patchstormInitrd(t, ctx)
			m := machine{Name: "drd-e2e-patchstorm", Firmware: BIOS, Kernel: base.Kernel, Initrd: initrd,
				Append: "console=ttyS0,115200 panic=-1 quiet drd.storm=60", MemMiB: 512, CPUs: cpus(), NoReboot: true}
			logDir := logDirFor(t, "patchstorm")
			ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()
			p, err := startQEMU(ctx, m, logDir, false)
			if err != nil {
				t.Fatal(err)
			}
			defer p.kill()
			end := regexp.MustCompile(`drd-e2e-patchstorm: (done|failed).*|Oops: .*|Kernel panic.*`)
			got, err := p.console.Wait(ctx, end)
			if err != nil {
				t.Fatalf("%s with %d vCPUs: no end of the storm: %v; the console: %s", r, m.CPUs, err, filepath.Join(logDir, "console.log"))
			}
			if !strings.HasPrefix(got[0], "drd-e2e-patchstorm: done") {
				t.Fatalf("%s with %d vCPUs: %s; last 40 lines of the console (%s):\n%s", r, m.CPUs, got[0],
					filepath.Join(logDir, "console.log"), p.console.Tail(40))
			}
			t.Logf("%s with %d vCPUs: %s", r, m.CPUs, got[0])
		})
	}
}

// patchstormInitrd builds scripts/e2e/patchstorm and returns an initramfs
// holding it as /init.
func patchstormInitrd(t *testing.T, ctx context.Context) string {
	bin, err := goBuild(ctx, "github.com/drd-linux/drd/scripts/e2e/patchstorm")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := cpio.Newc.Writer(&buf)
	if err := cpio.WriteRecordsAndDirs(w, []cpio.Record{cpio.StaticFile("init", string(b), 0o755)}); err != nil {
		t.Fatal(err)
	}
	if err := cpio.WriteTrailer(w); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "patchstorm.cpio")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// EnvBench set to "1" runs TestBenchLVM (with DRD_E2E=1): a benchmark, so
// not among the scenarios make e2e runs.
const EnvBench = "DRD_BENCH"

// BenchSerial is TestBenchLVM's extra disk, a second PV of sysvg holding
// the synthetic tree's LV.
const BenchSerial = "drdbench"

// hostLoadFile is where the guest finds the host's /proc/loadavg, copied
// in every few seconds: under TCG the host's load is what slows a run.
const hostLoadFile = "/run/drd-bench-host-loadavg"

// TestBenchLVM is issue 4's benchmark from an LVM source, on layout (b):
// drd's copy engine (scripts/benchclone, run in the guest) against cp -a,
// rsync -aHAXS --numeric-ids and the dd floor, each from a cold guest
// cache onto a fresh ext4 on the target disk. Two trees, each read from an
// LVM snapshot as drd clone reads it: the booted root (sysvg/root, a
// debootstrapped Debian) and the synthetic tree of 100,000 small files
// and sparse files, written by benchclone into a new LV of sysvg. It
// measures and logs the table; it fails only when it cannot run.
func TestBenchLVM(t *testing.T) {
	if os.Getenv(EnvBench) != "1" {
		t.Skipf("benchmark: set %s=1 (and %s=1) to run it (make bench-lvm)", EnvBench, EnvEnable)
	}
	Require(t)
	ctx := context.Background()
	ph := PhasesFor(t)
	var bench, depot Deb
	ph.Time("benchclone, rsync", func() {
		bench = benchcloneDeb(t, ctx)
		depot = aptDepot(t, ctx, LayoutLVM, "rsync")
		depot.Install = true // unpacks the repository; rsync is installed from it below
	})
	vm := Boot(t, LayoutLVM, Options{
		Name:           "bench",
		MemMiB:         2048,
		Debs:           []Deb{bench, depot},
		Disks:          []Extra{{Serial: TargetSerial, Size: 4 * GiB}, {Serial: BenchSerial, Size: 4 * GiB}},
		CommandTimeout: 3 * time.Hour,
	})
	target := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + TargetSerial))
	extra := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + BenchSerial))
	vm.MustRun("dpkg -i /srv/depot/*.deb && rsync --version | head -n 1")
	t.Logf("guest: %s", vm.MustRun("nproc; free -m | sed -n 2p; uname -r"))

	ph.Time("synthetic tree", func() {
		vm.MustRun(`set -e
pvcreate -y ` + extra + ` && vgextend sysvg ` + extra + `
lvcreate -y -n synth -L 3g sysvg ` + extra + `
mkfs.ext4 -q -E lazy_itable_init=0,lazy_journal_init=0 /dev/sysvg/synth
mkdir -p /srv/synth && mount /dev/sysvg/synth /srv/synth
benchclone -make-synth /srv/synth && sync && df -h / /srv/synth && df -i / /srv/synth`)
	})
	// Snapshots as drd clone takes them of live file systems (lvcreate
	// freezes each while it takes it); benchclone mounts them ro,noload.
	vm.MustRun(`set -e
lvcreate -y -s -n root_benchsnap -L 512m sysvg/root
lvcreate -y -s -n synth_benchsnap -L 256m sysvg/synth
lvs`)

	stop := feedHostLoad(vm)
	var r Result
	ph.Time("benchmark", func() {
		r = vm.Run("benchclone -dir /var/tmp/drd-bench -loadavg " + hostLoadFile + " -target-dev " + target +
			" -source-devs lvm-root=/dev/sysvg/root_benchsnap,lvm-synth=/dev/sysvg/synth_benchsnap")
	})
	stop()
	t.Logf("benchclone: exit %d\n%s\n%s", r.Code, r.Stderr, r.Stdout)
	if r.Code != 0 {
		t.Fatalf("benchclone in the guest exited %d", r.Code)
	}
	vm.MustRun("lvremove -y sysvg/root_benchsnap sysvg/synth_benchsnap")
}

// benchcloneDeb packs scripts/benchclone, built from the working tree,
// as /usr/local/sbin/benchclone, installed at the first boot.
func benchcloneDeb(t *testing.T, ctx context.Context) Deb {
	t.Helper()
	bin, err := goBuild(ctx, "github.com/drd-linux/drd/scripts/benchclone")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return Deb{Package: "drd-e2e-benchclone", Description: "drd's copy benchmark", Install: true,
		Files: map[string]DebFile{"/usr/local/sbin/benchclone": {Content: string(b), Mode: 0o755}}}
}

// feedHostLoad copies the host's /proc/loadavg into the guest's
// hostLoadFile now and every 5 s, until the returned stop is called.
func feedHostLoad(vm *VM) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	feed := func() {
		b, err := os.ReadFile("/proc/loadavg")
		if err != nil {
			return
		}
		ectx, ecancel := context.WithTimeout(ctx, time.Minute)
		vm.Exec(ectx, "echo '"+strings.TrimSpace(string(b))+"' >"+hostLoadFile)
		ecancel()
	}
	feed()
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				feed()
			}
		}
	}()
	return func() { cancel(); <-done }
}

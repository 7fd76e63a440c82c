package e2e

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestBenchOutage is issue 18's benchmark (make bench-outage): the same
// lasting switch into the same clone by each switch drd offers here
// (firmware, kexec, soft: on Debian 13, whose systemd has soft-reboot), timed from the start of
// `drd activate -x reboot=SWITCH` to (a) the new kernel's first console
// line (Linux version) and (b) the clone's sshd answering on the
// forwarded port (its SSH banner), with the old system's shutdown
// (command to its last kernel line) beside. Several runs each, medians,
// the host's load beside each run, ratios printed. It measures and fails
// only when it cannot run.
func TestBenchOutage(t *testing.T) {
	if os.Getenv(EnvBench) != "1" {
		t.Skipf("benchmark: set %s=1 (and %s=1) to run it (make bench-outage)", EnvBench, EnvEnable)
	}
	Require(t)
	runs := 3
	if n := os.Getenv("DRD_BENCH_RUNS"); n != "" {
		fmt.Sscan(n, &runs)
	}
	vm := Boot(t, LayoutBIOS13, Options{Name: "outage", Network: true, SSH: true, BootTimeout: 10 * time.Minute})
	target := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + TargetSerial))
	PhasesFor(t).Time("clone", func() { vm.MustRun("drd clone -t " + target) })
	t.Logf("guest: %s", vm.MustRun("uname -r; systemctl --version | head -n 1; nproc"))

	switches := []string{"firmware", "kexec"}
	if r := vm.Run("drd activate -p -x reboot=soft 2>&1"); r.Code == 0 {
		switches = append(switches, "soft")
	} else {
		t.Logf("soft: not measured here: %s", lastLine(r.Stdout))
	}
	res := map[string][]outageRun{}
	for i := 0; i < runs; i++ {
		for _, sw := range switches {
			r := timeSwitch(t, vm, "drd activate sysimage_001 -x reboot="+sw)
			t.Logf("run %d %-8s shutdown %5.1fs  kernel %5.1fs  sshd %5.1fs  host load %s\n%s",
				i+1, sw, r.shutdown.Seconds(), r.kernel.Seconds(), r.service.Seconds(), r.load, r.analyze)
			res[sw] = append(res[sw], r)
			// Back to the original, untimed, by the fastest way.
			timeSwitch(t, vm, "drd activate sysimage_000 -x reboot=kexec")
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "median of %d runs, seconds from `drd activate sysimage_001 -x reboot=SWITCH`:\n", runs)
	fmt.Fprintf(&b, "%-9s %9s %9s %9s   %s\n", "switch", "shutdown", "kernel", "sshd", "host load (1 min) per run")
	med := map[string][3]float64{}
	for _, sw := range switches {
		var s, k, v []float64
		var loads []string
		for _, r := range res[sw] {
			s, k, v = append(s, r.shutdown.Seconds()), append(k, r.kernel.Seconds()), append(v, r.service.Seconds())
			loads = append(loads, strings.Fields(r.load)[0])
		}
		med[sw] = [3]float64{median(s), median(k), median(v)}
		fmt.Fprintf(&b, "%-9s %9.1f %9.1f %9.1f   %s\n", sw, med[sw][0], med[sw][1], med[sw][2], strings.Join(loads, " "))
	}
	for _, sw := range switches[1:] {
		fmt.Fprintf(&b, "%s / firmware: to the kernel %.2f, to sshd %.2f\n", sw, med[sw][1]/med["firmware"][1], med[sw][2]/med["firmware"][2])
	}
	t.Log("\n" + b.String())
}

// outageRun is one timed switch.
type outageRun struct {
	shutdown, kernel, service time.Duration
	load                      string // the host's /proc/loadavg at the start
	analyze                   string // systemd-analyze of the new boot
}

// The old kernel's last line (firmware reboot, kexec) and the new
// kernel's first.
var (
	lastOldLine  = regexp.MustCompile(`reboot: Restarting system|kexec_core: Starting new kernel|systemd-shutdown\[1\]: Rebooting with kexec`)
	firstNewLine = regexp.MustCompile(`Linux version \d`)
)

// timeSwitch runs cmd (a drd activate that restarts the machine) and
// times it; it returns when the new boot is up for the harness.
func timeSwitch(t *testing.T, vm *VM, cmd string) outageRun {
	t.Helper()
	var r outageRun
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		r.load = strings.TrimSpace(string(b))
	}
	prev := vm.bootID
	vm.p.console.Skip()
	t0 := time.Now()
	if _, _, err := vm.p.agent.start(cmd + " >/var/tmp/drd-bench-activate.log 2>&1"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := vm.p.console.Wait(ctx, lastOldLine); err == nil {
		r.shutdown = time.Since(t0)
	}
	if _, err := vm.p.console.Wait(ctx, firstNewLine); err != nil {
		t.Fatalf("%s: no new kernel on the console: %v\n%s", cmd, err, vm.p.console.Tail(40))
	}
	r.kernel = time.Since(t0)
	for ctx.Err() == nil {
		if vm.SSHAnswers() {
			r.service = time.Since(t0)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if r.service == 0 {
		t.Fatalf("%s: sshd did not answer within 10 min", cmd)
	}
	if err := vm.waitBoot(prev); err != nil {
		t.Fatal(err)
	}
	r.analyze = strings.TrimSpace(vm.MustRun("systemd-analyze 2>&1 | head -n 1"))
	return r
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func lastLine(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return l[len(l)-1]
}

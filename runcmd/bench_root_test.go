package runcmd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/report"
)

// BenchmarkRuncmd: the cost of drd runcmd dpkg -l (the image found,
// the command checked, the jail built, dpkg run, the record and the
// event log written) against chroot <mounted clone> dpkg -l, on one
// mounted clone, in one run (goal: under 100 ms more per call), with
// each -x network=. It measures only; run as root:
//
//	go test -run '^$' -bench Runcmd -benchtime 10x ./runcmd
func BenchmarkRuncmd(b *testing.B) {
	ctx := context.Background()
	s := clonedMinbase(b, ctx)
	name := cloneName(b, ctx, s.Root)
	dir, err := bootenv.Mount(ctx, s.Root, name, report.Discard)
	if err != nil {
		b.Fatal(err)
	}
	devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	defer devnull.Close()
	exe, _ := os.Executable()
	b.Run("chroot", func(b *testing.B) {
		for b.Loop() {
			c := exec.Command("chroot", dir, "dpkg", "-l")
			c.Stdout, c.Stderr = devnull, devnull
			if err := c.Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, net := range []struct {
		name        string
		noNet, host bool
	}{{"runcmd", false, false}, {"runcmd-network=false", true, false}, {"runcmd-network=host", false, true}} {
		b.Run(net.name, func(b *testing.B) {
			for b.Loop() {
				err := Run(ctx, Options{Root: s.Root, Image: name, Argv: []string{"dpkg", "-l"}, NoNetwork: net.noNet, HostNetwork: net.host,
					Stdio: Stdio{Out: devnull, Err: devnull}, Exe: exe}, report.Discard)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "usr/sbin/policy-rc.d")); err == nil {
		b.Error("policy-rc.d left in the image")
	}
}

// downloadScript fetches $1 (a path on deb.debian.org) over HTTP with
// perl (perl-base, in every Debian image) and prints the bytes and the
// nanoseconds the transfer took, the connection included.
const downloadScript = `start=$(date +%s%N)
bytes=$(perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(PeerAddr => "deb.debian.org", PeerPort => 80, Timeout => 20) or die "$@\n"; print $s "GET /debian/$ARGV[0] HTTP/1.1\r\nHost: deb.debian.org\r\nConnection: close\r\n\r\n"; $n = 0; while (($r = sysread($s, $buf, 1 << 16)) > 0) { $n += $r } print "$n\n"' "$1") || exit 1
end=$(date +%s%N)
echo "$bytes $((end - start))"
`

// BenchmarkJailDownload: the throughput of one download of a large file
// of the Debian mirror through the jail's network (slirp4netns) against the
// same download on the booted system (goal: at least 0.9 times the
// host's). It needs the Internet and measures only; run as root:
//
//	DRD_BENCH_NET=1 go test -run '^$' -bench JailDownload -benchtime 5x ./runcmd
func BenchmarkJailDownload(b *testing.B) {
	if os.Getenv("DRD_BENCH_NET") == "" {
		b.Skip("set DRD_BENCH_NET=1: downloads from deb.debian.org")
	}
	root := minbase(b)
	const file = "dists/bookworm/main/Contents-all.gz" // 34 MB
	// measure adds one download's bytes and nanoseconds to *sum; report
	// reports the throughput of all of them (bytes over time, not the
	// last one's).
	type total struct{ n, ns float64 }
	measure := func(b *testing.B, sum *total, out string) {
		var n, ns float64
		if _, err := fmt.Sscan(strings.TrimSpace(out), &n, &ns); err != nil || n < 1<<20 {
			b.Fatalf("download: %q", out)
		}
		sum.n += n
		sum.ns += ns
	}
	reportMBs := func(b *testing.B, sum total, calls int) {
		b.ReportMetric(sum.n/(sum.ns/1e9)/1e6, "MB/s")
		b.ReportMetric(sum.n/float64(calls)/1e6, "MB")
	}
	b.Run("host", func(b *testing.B) {
		var sum total
		calls := 0
		for b.Loop() {
			out, err := exec.Command("sh", "-c", downloadScript, "sh", file).Output()
			if err != nil {
				b.Fatal(err)
			}
			measure(b, &sum, string(out))
			calls++
		}
		reportMBs(b, sum, calls)
	})
	for _, host := range []bool{false, true} {
		name := "jail-slirp4netns"
		if host {
			name = "jail-network=host"
		}
		b.Run(name, func(b *testing.B) {
			var sum total
			calls := 0
			for b.Loop() {
				f, err := os.CreateTemp(b.TempDir(), "out")
				if err != nil {
					b.Fatal(err)
				}
				_, err = Jail{}.Run(context.Background(), Plan(PlanInput{Root: root, HostNet: host, Argv: []string{"sh", "-c", downloadScript, "sh", file}}), Stdio{Out: f}, report.Discard)
				f.Close()
				out, _ := os.ReadFile(f.Name())
				if err != nil {
					b.Fatal(err)
				}
				measure(b, &sum, string(out))
				calls++
			}
			reportMBs(b, sum, calls)
		})
	}
}

// BenchmarkStage: making drd's files for one run (two tmpfs, drd's
// executable copied in), the stage's share of the jail's cost.
func BenchmarkStage(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: fsopen")
	}
	exe, _ := os.Executable()
	for i := 0; i < b.N; i++ {
		st, err := newStage(inspectConfig{}, exe)
		if err != nil {
			b.Fatal(err)
		}
		st.close()
	}
}

// BenchmarkJailNet: the jail's network alone, from nothing to a
// namespace slirp4netns has configured (newJailNet, then its
// readiness): what Jail.Prepare starts ahead of the jail, and what the
// jail waits for when drd's own work before it is shorter. With
// DRD_BENCH_PASTA=1 it also times pasta (passt), the stack drd used
// before, started as drd started it. Run as root:
//
//	go test -run '^$' -bench JailNet -benchtime 10x ./runcmd
func BenchmarkJailNet(b *testing.B) {
	requireRoot(b)
	routes := readRoutes("/proc")
	subnet, ok := jailSubnet(routes.used)
	if !routes.out || !ok {
		b.Skip("no route out")
	}
	b.Run("slirp4netns", func(b *testing.B) {
		bin, err := exec.LookPath("slirp4netns")
		if err != nil {
			b.Skip("no slirp4netns")
		}
		for b.Loop() {
			n, err := newJailNet(slirpNet{bin: bin, subnet: subnet})
			if err != nil {
				b.Fatal(err)
			}
			if err := n.p.wait(30 * time.Second); err != nil {
				b.Fatal(err)
			}
			n.Close()
		}
	})
	b.Run("pasta", func(b *testing.B) {
		bin, err := exec.LookPath("pasta")
		if err != nil || os.Getenv("DRD_BENCH_PASTA") == "" {
			b.Skip("set DRD_BENCH_PASTA=1, with pasta (passt) installed")
		}
		for b.Loop() {
			pastaReady(b, bin)
		}
	})
}

// pastaReady starts pasta on a new namespace as drd 0.x did, and waits
// until it wrote its PID (it is ready then).
func pastaReady(b *testing.B, bin string) {
	ns, err := newNetNS()
	if err != nil {
		b.Fatal(err)
	}
	defer ns.Close()
	pid := filepath.Join(b.TempDir(), "pid")
	c := exec.Command(bin, "--foreground", "--quiet", "--runas", "0", "--config-net", "--netns", "/proc/self/fd/0",
		"--no-map-gw", "-t", "none", "-u", "none", "-T", "none", "-U", "none", "--pid", pid)
	c.Stdin = ns
	if err := c.Start(); err != nil {
		b.Fatal(err)
	}
	defer c.Wait()
	defer c.Process.Kill()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if p, _ := os.ReadFile(pid); len(p) > 0 {
			return
		}
	}
	b.Fatal("pasta was not ready after 30 s")
}

// Command benchverify times drd verify's engine (verify.Verify, what
// drd verify runs once the image is mounted) against debsums -a and
// dpkg --verify on the same Debian root, from a cold cache (drop_caches)
// and a warm one, in one run: files/s, MB/s and each time as a ratio of
// debsums -a's. It measures and never fails on the figures. Run as root
// (scripts/bench-verify).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/drd-linux/drd/internal/minbase"
	"github.com/drd-linux/drd/verify"
)

func main() {
	root := flag.String("root", "", "the Debian root to check; empty: the root tests' minbase system, unpacked under /var/tmp/drd-bench")
	workers := flag.Int("workers", 0, "drd verify's workers; 0: its default (verify.DefaultWorkers)")
	flag.Parse()
	if err := run(*root, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "benchverify:", err)
		os.Exit(1)
	}
}

type tool struct {
	name string
	run  func(ctx context.Context, root string) error
}

func run(root string, workers int) error {
	ctx := context.Background()
	if root == "" {
		root = "/var/tmp/drd-bench/verify-minbase"
		if _, err := os.Stat(filepath.Join(root, "var/lib/dpkg/status")); err != nil {
			os.RemoveAll(root)
			if err := os.MkdirAll(root, 0o755); err != nil {
				return err
			}
			if err := minbase.Default.Unpack(ctx, root); err != nil {
				return err
			}
		}
	}
	var files int
	var bytes int64
	tools := []tool{
		{"drd verify", func(ctx context.Context, root string) error {
			res, err := verify.Verify(ctx, verify.Options{Root: root, Workers: workers})
			if err == nil {
				files, bytes = res.Files, res.Bytes
			}
			return err
		}},
		{"debsums -a", func(ctx context.Context, root string) error {
			return quiet(exec.CommandContext(ctx, "debsums", "-a", "-s", "--root="+root))
		}},
		{"dpkg --verify", func(ctx context.Context, root string) error {
			return quiet(exec.CommandContext(ctx, "dpkg", "--root="+root, "--verify"))
		}},
	}
	// Each figure is printed as soon as it is measured: a long run
	// stopped half-way still shows what it measured. drd verify runs
	// first in each cache state: its count of files and bytes is the
	// measure of all three.
	debsums := map[string]time.Duration{}
	took := map[string]time.Duration{}
	header := false
	for _, cache := range []string{"cold", "warm"} {
		for _, t := range tools {
			if cache == "cold" {
				if err := dropCaches(); err != nil {
					return err
				}
			}
			start := time.Now()
			if err := t.run(ctx, root); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			d := time.Since(start)
			if !header {
				fmt.Printf("root %s: %d packaged files, %.1f MB (as drd verify hashed them)\n", root, files, float64(bytes)/1e6)
				fmt.Printf("%-14s %-5s %9s %10s %8s\n", "tool", "cache", "seconds", "files/s", "MB/s")
				header = true
			}
			if t.name == "debsums -a" {
				debsums[cache] = d
			}
			took[cache+" "+t.name] = d
			s := d.Seconds()
			fmt.Printf("%-14s %-5s %9.2f %10.0f %8.1f\n", t.name, cache, s, float64(files)/s, float64(bytes)/1e6/s)
		}
		b := debsums[cache]
		fmt.Printf("%s: drd verify %.2fx debsums -a, dpkg --verify %.2fx debsums -a\n", cache,
			took[cache+" drd verify"].Seconds()/b.Seconds(), took[cache+" dpkg --verify"].Seconds()/b.Seconds())
	}
	return nil
}

// quiet runs cmd; findings (a non-zero exit with output) are no failure
// of the benchmark, a tool that does not start is.
func quiet(cmd *exec.Cmd) error {
	cmd.Stdout, cmd.Stderr = nil, nil
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); ok {
		return nil
	}
	return err
}

func dropCaches() error {
	if err := exec.Command("sync").Run(); err != nil {
		return err
	}
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200)
}

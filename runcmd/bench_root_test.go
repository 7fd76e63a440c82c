package runcmd

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/report"
)

// BenchmarkRuncmd: the cost of drd runcmd dpkg -l (the image found,
// the command checked, the jail built, dpkg run, the record and the
// event log written) against chroot <mounted clone> dpkg -l, on one
// mounted clone, in one run (goal: under 100 ms more per call). It
// measures only; run as root:
//
//	go test -run '^$' -bench Runcmd -benchtime 10x ./runcmd
func BenchmarkRuncmd(b *testing.B) {
	ctx := context.Background()
	s := clonedMinbase(b, ctx)
	dir, err := bootenv.Mount(ctx, s.Root, "", report.Discard)
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
	b.Run("runcmd", func(b *testing.B) {
		for b.Loop() {
			err := Run(ctx, Options{Root: s.Root, Argv: []string{"dpkg", "-l"}, Stdio: Stdio{Out: devnull, Err: devnull}, Exe: exe}, report.Discard)
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	if _, err := os.Stat(filepath.Join(dir, "usr/sbin/policy-rc.d")); err == nil {
		b.Error("policy-rc.d left in the image")
	}
}

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
	dir, err := bootenv.Mount(ctx, s.Root, "sysimage_001", report.Discard)
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
			err := Run(ctx, Options{Root: s.Root, Image: "sysimage_001", Argv: []string{"dpkg", "-l"}, Stdio: Stdio{Out: devnull, Err: devnull}, Exe: exe}, report.Discard)
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	if _, err := os.Stat(filepath.Join(dir, "usr/sbin/policy-rc.d")); err == nil {
		b.Error("policy-rc.d left in the image")
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

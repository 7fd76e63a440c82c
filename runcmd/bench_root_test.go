package runcmd

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/drd-linux/drd/internal/report"
)

// The runcmd environment's cost per call over a plain chroot (goal: under
// 100 ms). They measure only; run as root:
//
//	go test -run '^$' -bench . -benchtime 20x ./runcmd
func BenchmarkChroot(b *testing.B) {
	root := minbase(b)
	for b.Loop() {
		if out, err := exec.Command("chroot", root, "/bin/true").CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
}

func BenchmarkJail(b *testing.B) {
	root := minbase(b)
	staging, err := writeStaging("", false)
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(staging)
	exe, _ := os.Executable()
	spec := Plan(PlanInput{Root: root, Image: "bench", Argv: []string{"/bin/true"}, Staging: staging, Exe: exe})
	for b.Loop() {
		res, err := Jail{}.Run(context.Background(), spec, Stdio{}, report.Discard)
		if err != nil || res.Exit != 0 {
			b.Fatalf("%+v %v", res, err)
		}
		if err := RemovePlaceholders(root, res.Placeholders); err != nil {
			b.Fatal(err)
		}
	}
}

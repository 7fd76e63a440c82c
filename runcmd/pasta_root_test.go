package runcmd

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/drd-linux/drd/internal/report"
)

// TestJailSlowPasta: a pasta that takes 12 s to configure the jail's
// network, as the real one did in a TCG guest at a load of 24
// (TestReleaseUpgrade), is waited for: the command runs.
func TestJailSlowPasta(t *testing.T) {
	root := minbase(t)
	if !routeOut("/proc") {
		t.Skip("the booted system has no default route: drd runs the jail without pasta")
	}
	fake := filepath.Join(t.TempDir(), "pasta")
	// Writes its PID where --pid says, 12 s late, then stays, as pasta does.
	script := `#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = --pid ] && pid=$2; shift; done
sleep 12
echo $$ >"$pid"
exec sleep 600
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := Jail{Pasta: fake}.Run(context.Background(), Plan(PlanInput{Root: root, Argv: []string{"true"}}), Stdio{}, report.Func(t.Logf))
	if err != nil || res.Exit != 0 {
		t.Fatalf("a pasta ready after 12 s: %+v %v", res, err)
	}
	t.Logf("the jail ran after %.1f s", time.Since(start).Seconds())
}

// TestJailPastaClosesFiles: pasta from Debian 13 on closes every
// descriptor above 2 it inherited before it opens the namespace it was
// given ("Couldn't open network namespace /proc/self/fd/3: No such
// device or address" in a trixie guest): drd names the namespace by a
// path that does not depend on pasta's descriptors.
func TestJailPastaClosesFiles(t *testing.T) {
	root := minbase(t)
	if !routeOut("/proc") {
		t.Skip("the booted system has no default route: drd runs the jail without pasta")
	}
	real, err := exec.LookPath("pasta")
	if err != nil {
		t.Skip("pasta (passt) is not installed")
	}
	wrapper := filepath.Join(t.TempDir(), "pasta")
	script := "#!/bin/bash\nfor fd in /proc/$$/fd/*; do n=${fd##*/}; [ \"$n\" -gt 2 ] && eval \"exec $n>&-\"; done\nexec " + real + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := Jail{Pasta: wrapper}.Run(context.Background(), Plan(PlanInput{Root: root, Argv: []string{"true"}}), Stdio{}, report.Func(t.Logf))
	if err != nil || res.Exit != 0 {
		t.Fatalf("a pasta that closes what it inherited: %+v %v", res, err)
	}
}

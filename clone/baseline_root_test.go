package clone

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/internal/testsys"
	"github.com/drd-linux/drd/verify"
)

// TestCloneStartsVerifyBaseline: a clone of a system with a dpkg
// database carries the booted image's verify findings as its baseline,
// so drd verify of the clone reports only what changes in it later.
func TestCloneStartsVerifyBaseline(t *testing.T) {
	s := testsys.ForTest(t, testsys.Options{})
	sum := md5.Sum([]byte("shipped"))
	for p, content := range map[string]string{
		"var/lib/dpkg/status":         "Package: p\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n",
		"var/lib/dpkg/info/p.list":    "/usr/bin/p\n",
		"var/lib/dpkg/info/p.md5sums": hex.EncodeToString(sum[:]) + "  usr/bin/p\n",
		"usr/bin/p":                   "changed by hand",
	} {
		os.MkdirAll(filepath.Join(s.Root, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(s.Root, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(t.TempDir(), "clone.img")
	if err := Run(context.Background(), Options{Root: s.Root, Target: target}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	c := openClone(t, target)
	b, err := verify.ReadBaseline(c.root)
	if err != nil || b == nil {
		t.Fatalf("the clone's baseline: %+v, %v", b, err)
	}
	if !slices.Contains(b.Findings, verify.Finding{Path: "/usr/bin/p", Kind: verify.Modified, Package: "p"}) || b.User != "drd clone" {
		t.Errorf("the clone's baseline %+v lacks the booted image's modified /usr/bin/p", b)
	}
	if _, err := os.Stat(filepath.Join(s.Root, verify.BaselinePath)); err == nil {
		t.Error("the clone wrote a baseline into the booted image")
	}

	// -x baseline=false: the booted image is not verified, the clone has
	// no baseline.
	var notes []string
	r := report.Func(func(format string, a ...any) { notes = append(notes, fmt.Sprintf(format, a...)) })
	target = filepath.Join(t.TempDir(), "fast.img")
	if err := Run(context.Background(), Options{Root: s.Root, Target: target, NoBaseline: true}, r); err != nil {
		t.Fatal(err)
	}
	c = openClone(t, target)
	if b, err := verify.ReadBaseline(c.root); err != nil || b != nil {
		t.Errorf("a clone with NoBaseline has the baseline %+v, %v; want none", b, err)
	}
	if all := strings.Join(notes, "\n"); strings.Contains(all, "Verifying the booted image") || !strings.Contains(all, "No verify baseline") {
		t.Errorf("a clone with NoBaseline said:\n%s\nwant no verify of the booted image, and that the clone has no baseline", all)
	}
}

package runcmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/drd-linux/drd/internal/report"
)

// dyingJail makes the placeholders of a spec in the image, as the init
// does, then dies without reporting them.
type dyingJail struct{ root string }

func (j dyingJail) Run(ctx context.Context, spec *Spec, stdio Stdio, r report.Reporter) (*Result, error) {
	os.WriteFile(filepath.Join(j.root, "usr/sbin/policy-rc.d"), nil, 0o644)
	os.MkdirAll(filepath.Join(j.root, "srv/repo/x"), 0o755)
	return nil, errors.New("the jail's init ended without a word")
}

// TestPlaceholdersWithoutInit: a jail whose init died before it reported
// leaves no placeholder in the image; what the image had stays.
func TestPlaceholdersWithoutInit(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"usr/sbin", "srv/keep"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	spec := Plan(PlanInput{Root: root, Argv: []string{"true"}, Staging: true, Depots: []string{"/srv/repo/x", "/srv/keep"}})
	_, err := runInJail(context.Background(), Options{Jailer: dyingJail{root}}, root, spec, Stdio{}, report.Discard)
	if err == nil {
		t.Fatal("the jail's error was lost")
	}
	for _, p := range []string{"usr/sbin/policy-rc.d", "srv/repo"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
			t.Errorf("the placeholder /%s was left in the image", p)
		}
	}
	for _, p := range []string{"usr/sbin", "srv/keep"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err != nil {
			t.Errorf("the image's /%s was removed", p)
		}
	}
}

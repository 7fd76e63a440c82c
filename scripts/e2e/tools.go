package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/drd-linux/drd/isl"
)

// goBuild builds a package of this module with CGO off, once per test
// binary, and returns the binary.
var goBuild = func() func(ctx context.Context, pkg string) (string, error) {
	type built struct {
		path string
		err  error
	}
	var mu sync.Mutex
	done := map[string]built{}
	return func(ctx context.Context, pkg string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if b, ok := done[pkg]; ok {
			return b.path, b.err
		}
		dir, err := os.MkdirTemp("", "drd-e2e-bin")
		if err != nil {
			return "", err
		}
		out := filepath.Join(dir, filepath.Base(pkg))
		modDir, err := run(ctx, "go", "env", "GOMOD")
		if err == nil {
			_, err = runIn(ctx, filepath.Dir(strings.TrimSpace(modDir)), []string{"CGO_ENABLED=0"},
				"go", "build", "-trimpath", "-o", out, pkg)
		}
		if err != nil {
			err = fmt.Errorf("building %s from the working tree: %w", pkg, err)
		}
		done[pkg] = built{out, err}
		return out, err
	}
}()

// toolsDisk makes the squashfs the guest reads the agent, drd, the
// STAGEISL initramfs and the scenario's .debs from, in dir.
func toolsDisk(ctx context.Context, dir string, opts Options, logf func(string, ...any)) (string, error) {
	tree := filepath.Join(dir, "tools")
	if err := os.MkdirAll(filepath.Join(tree, "debs"), 0o755); err != nil {
		return "", err
	}
	bins := map[string]string{"agent": "github.com/drd-linux/drd/scripts/e2e/agent"}
	if !opts.NoDRD {
		bins["drd"] = "github.com/drd-linux/drd/cmd/drd"
	}
	for name, pkg := range bins {
		if b := os.Getenv(EnvDRD); name == "drd" && b != "" {
			if _, err := run(ctx, "cp", b, filepath.Join(tree, name)); err != nil {
				return "", fmt.Errorf("copying the drd binary of %s: %w", EnvDRD, err)
			}
			continue
		}
		b, err := goBuild(ctx, pkg)
		if err != nil {
			return "", err
		}
		if _, err := run(ctx, "cp", b, filepath.Join(tree, name)); err != nil {
			return "", err
		}
	}
	if !opts.NoDRD {
		img, err := islImage(ctx, logf)
		if err != nil {
			return "", err
		}
		if _, err := run(ctx, "cp", img, filepath.Join(tree, isl.ImageName)); err != nil {
			return "", err
		}
	}
	for _, d := range opts.Debs {
		if _, err := BuildDeb(ctx, filepath.Join(tree, "debs"), d); err != nil {
			return "", err
		}
	}
	img := filepath.Join(dir, "tools.sqfs")
	if _, err := run(ctx, "mksquashfs", tree, img, "-noappend", "-quiet", "-all-root"); err != nil {
		return "", err
	}
	return img, nil
}

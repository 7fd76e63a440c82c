package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/drd-linux/drd/packaging"
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

// toolsDisk makes the squashfs the guest reads the agent, drd's package
// (drd.deb: the drd and STAGEISL initramfs of the working tree, made as
// make deb makes it, installed with dpkg -i at the first boot) and the
// scenario's .debs from, in dir.
func toolsDisk(ctx context.Context, dir string, opts Options, logf func(string, ...any)) (string, error) {
	tree := filepath.Join(dir, "tools")
	if err := os.MkdirAll(filepath.Join(tree, "debs"), 0o755); err != nil {
		return "", err
	}
	agent, err := goBuild(ctx, "github.com/drd-linux/drd/scripts/e2e/agent")
	if err != nil {
		return "", err
	}
	if _, err := run(ctx, "cp", agent, filepath.Join(tree, "agent")); err != nil {
		return "", err
	}
	if !opts.NoDRD {
		if err := drdDeb(ctx, filepath.Join(tree, DrdDeb), logf); err != nil {
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

// DrdDeb is drd's package on the tools disk.
const DrdDeb = "drd.deb"

// drdDeb makes drd's package as make deb does (packaging.Build) into
// file: the drd of $DRD_E2E_DRD or of the working tree, stamped with git
// describe, and the STAGEISL initramfs (islImage).
func drdDeb(ctx context.Context, file string, logf func(string, ...any)) error {
	modDir, err := run(ctx, "go", "env", "GOMOD")
	if err != nil {
		return err
	}
	src := filepath.Dir(strings.TrimSpace(modDir))
	version, err := runIn(ctx, src, nil, "git", "describe", "--tags", "--always", "--dirty")
	if err != nil {
		return fmt.Errorf("versioning drd's package: %w", err)
	}
	version = strings.TrimSpace(version)
	drd := os.Getenv(EnvDRD)
	if drd == "" {
		tmp, err := os.MkdirTemp("", "drd-e2e-drd")
		if err != nil {
			return err
		}
		drd = filepath.Join(tmp, "drd")
		if _, err := runIn(ctx, src, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath",
			"-ldflags", "-s -w -X main.version="+version, "-o", drd, "./cmd/drd"); err != nil {
			return fmt.Errorf("building drd from the working tree: %w", err)
		}
	}
	img, err := islImage(ctx, logf)
	if err != nil {
		return err
	}
	out := filepath.Dir(file)
	deb, err := packaging.Build(ctx, packaging.Options{Drd: drd, ISL: img, Source: src, Version: version,
		Date: time.Now(), OutDir: out, Logf: logf, Compression: "gzip"})
	if err != nil {
		return fmt.Errorf("making drd's package for the guest: %w", err)
	}
	return os.Rename(deb, file)
}

// Package minbase gives the root tests a Debian system to work on: a
// debootstrap minbase tree, built once (about 90 s, from
// deb.debian.org) and cached as a tar file under /var/tmp/drd-cache,
// keyed by suite, variant and package list, then unpacked where a test
// wants it.
package minbase

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Cache is where the tar files are kept between test runs.
const Cache = "/var/tmp/drd-cache"

// System is one debootstrap'd system.
type System struct {
	Suite, Variant string
	Packages       []string // --include
}

// Default is the system the root tests share (runcmd's too: one cache):
// Debian 12 (bookworm, apt 2.6, dpkg 1.21).
var Default = System{Suite: "bookworm", Variant: "minbase",
	Packages: []string{"iproute2", "kmod", "nftables", "procps", "psmisc", "systemd"}}

// Trixie is Default on Debian 13 (trixie, apt 3, dpkg 1.22): runcmd's
// root tests of apt and dpkg run on both.
var Trixie = System{Suite: "trixie", Variant: Default.Variant, Packages: Default.Packages}

// Releases are the Debian releases drd is proven on, oldest first.
var Releases = []System{Default, Trixie}

// Tar returns the cached tar file of s, making it with debootstrap when
// it is missing.
func (s System) Tar(ctx context.Context) (string, error) {
	pkgs := append([]string(nil), s.Packages...)
	sort.Strings(pkgs)
	tarFile := filepath.Join(Cache, fmt.Sprintf("%s-%s-%s.tar", s.Suite, s.Variant, strings.Join(pkgs, ",")))
	if _, err := os.Stat(tarFile); err == nil {
		return tarFile, nil
	}
	if err := os.MkdirAll(Cache, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(Cache, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "root")
	steps := [][]string{
		{"debootstrap", "--variant=" + s.Variant, "--include=" + strings.Join(pkgs, ","), s.Suite, root, "http://deb.debian.org/debian"},
		{"tar", "-C", root, "--numeric-owner", "--xattrs", "-cf", filepath.Join(tmp, "out.tar"), "."},
	}
	for _, st := range steps {
		if out, err := exec.CommandContext(ctx, st[0], st[1:]...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("%s: %v\n%s", strings.Join(st, " "), err, out)
		}
	}
	return tarFile, os.Rename(filepath.Join(tmp, "out.tar"), tarFile)
}

// Unpack unpacks s into dir (an empty directory).
func (s System) Unpack(ctx context.Context, dir string) error {
	tarFile, err := s.Tar(ctx)
	if err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "tar", "-C", dir, "--numeric-owner", "--xattrs", "-xf", tarFile).CombinedOutput(); err != nil {
		return fmt.Errorf("unpacking %s into %s: %v\n%s", tarFile, dir, err, out)
	}
	return nil
}

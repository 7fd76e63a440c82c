package safety

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadInstalledLinks: the precheck reads an installed package's
// scripts inside the image: a maintainer script of the image made a link
// to a file of the booted system (absolute, or climbing with ..) is not
// read through it.
func TestReadInstalledLinks(t *testing.T) {
	host := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(host, []byte("the booted system's secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{host, strings.Repeat("../", 40) + strings.TrimPrefix(host, "/")} {
		root := t.TempDir()
		info := filepath.Join(root, dpkgAdmin, "info")
		if err := os.MkdirAll(info, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(root, dpkgAdmin, "status"), []byte("Package: x\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\n"), 0o644)
		os.WriteFile(filepath.Join(info, "x.prerm"), []byte("#!/bin/sh\ntrue\n"), 0o755)
		if err := os.Symlink(target, filepath.Join(info, "x.postinst")); err != nil {
			t.Fatal(err)
		}
		p, err := ReadInstalled(root, "x")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(p.Scripts["postinst"], "secret") {
			t.Errorf("link to %s: the precheck read the booted system's file as the image's postinst", target)
		}
		if p.Scripts["prerm"] == "" {
			t.Errorf("the image's own prerm was not read")
		}
	}
}

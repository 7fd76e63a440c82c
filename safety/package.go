package safety

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/inroot"
	"github.com/drd-linux/drd/pkgdb"
)

// Package is what safety reads of a package: its control fields and its
// maintainer scripts.
type Package struct {
	Name    string
	Version string
	Fields  map[string]string // control fields, keys as written (X-DRD-Safe)
	Scripts map[string]string // preinst, postinst, prerm, postrm, config: content
}

// scriptNames are the maintainer scripts of a .deb.
var scriptNames = []string{"preinst", "postinst", "prerm", "postrm", "config"}

// ParseControl reads the fields of a Debian control paragraph (pkgdb.ParseControl).
func ParseControl(data string) map[string]string { return pkgdb.ParseControl(data) }

// field looks a control field up without regard to case, as dpkg does.
func (p *Package) field(name string) string {
	for k, v := range p.Fields {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// ReadControlDir reads a package's control area unpacked in dir (as
// dpkg-deb -e leaves it, or /var/lib/dpkg/info would give it).
func ReadControlDir(dir string) (*Package, error) {
	data, err := os.ReadFile(filepath.Join(dir, "control"))
	if err != nil {
		return nil, fmt.Errorf("reading the control file of a package: %w", err)
	}
	p := &Package{Fields: ParseControl(string(data)), Scripts: map[string]string{}}
	p.Name, p.Version = p.field("Package"), p.field("Version")
	for _, s := range scriptNames {
		if b, err := os.ReadFile(filepath.Join(dir, s)); err == nil {
			p.Scripts[s] = string(b)
		}
	}
	return p, nil
}

// ReadDeb unpacks the control area of a .deb with dpkg-deb -e into a
// temporary directory and reads it.
func ReadDeb(ctx context.Context, run execrun.Runner, deb string) (*Package, error) {
	dir, err := os.MkdirTemp("", "drd-deb-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ctl := filepath.Join(dir, "DEBIAN")
	if _, err := run.Run(ctx, "dpkg-deb", "-e", deb, ctl); err != nil {
		return nil, fmt.Errorf("reading %s: %w", deb, err)
	}
	p, err := ReadControlDir(ctl)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", deb, err)
	}
	return p, nil
}

// dpkgAdmin is dpkg's database in an image.
const dpkgAdmin = "var/lib/dpkg"

// ReadInstalled reads a package installed in the image at root (name, or
// name:arch): its fields from dpkg's status file and its maintainer
// scripts from the info directory (name.prerm, or name:arch.prerm for a
// Multi-Arch: same package). It is what runs when the package is removed
// or upgraded.
func ReadInstalled(root, name string) (*Package, error) {
	tr := inroot.Mounts(root) // never through a link the image holds
	data, err := tr.ReadFile(path.Join(dpkgAdmin, "status"))
	if err != nil {
		return nil, fmt.Errorf("reading the packages of the image: %w", err)
	}
	pkg, arch, _ := strings.Cut(name, ":")
	var p *Package
	for _, para := range strings.Split(string(data), "\n\n") {
		f := ParseControl(para)
		if f["Package"] == pkg && (arch == "" || f["Architecture"] == arch || f["Architecture"] == "all") {
			p = &Package{Name: pkg, Version: f["Version"], Fields: f, Scripts: map[string]string{}}
			arch = f["Architecture"]
			break
		}
	}
	if p == nil {
		return nil, fmt.Errorf("package %s is not installed in the image", name)
	}
	for _, s := range scriptNames {
		for _, base := range []string{pkg + ":" + arch, pkg} {
			if b, err := tr.ReadFile(path.Join(dpkgAdmin, "info", base+"."+s)); err == nil {
				p.Scripts[s] = string(b)
				break
			}
		}
	}
	return p, nil
}

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Deb is a .deb package a scenario needs in the guest, built on the host
// with dpkg-deb (the guest has no network).
type Deb struct {
	Package     string
	Version     string            // default 1.0
	Depends     string            // Depends field, optional
	Description string            // default: "drd e2e test package"
	Fields      map[string]string // further control fields, e.g. "X-DRD-Safe": "no"
	Files       map[string]DebFile
	Scripts     map[string]string // maintainer scripts: preinst, postinst, prerm, postrm
	Install     bool              // dpkg -i it at the VM's first boot
}

// DebFile is one file of a package.
type DebFile struct {
	Content string
	Mode    os.FileMode // default 0644
}

func (d Deb) version() string {
	if d.Version == "" {
		return "1.0"
	}
	return d.Version
}

func (d Deb) fileName() string { return fmt.Sprintf("%s_%s_all.deb", d.Package, d.version()) }

// control returns the package's control file.
func (d Deb) control() string {
	desc := d.Description
	if desc == "" {
		desc = "drd e2e test package"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: drd e2e <e2e@drd.invalid>\n", d.Package, d.version())
	if d.Depends != "" {
		fmt.Fprintf(&b, "Depends: %s\n", d.Depends)
	}
	keys := make([]string, 0, len(d.Fields))
	for k := range d.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, d.Fields[k])
	}
	fmt.Fprintf(&b, "Description: %s\n", desc)
	return b.String()
}

// BuildDeb builds d into dir and returns the path of the .deb.
func BuildDeb(ctx context.Context, dir string, d Deb) (string, error) {
	if d.Package == "" {
		return "", fmt.Errorf("building a .deb: no package name")
	}
	root, err := os.MkdirTemp(dir, d.Package+"-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(root)
	files := map[string]file{"/DEBIAN/control": {0o644, d.control()}}
	for name, s := range d.Scripts {
		files["/DEBIAN/"+name] = file{0o755, s}
	}
	for p, f := range d.Files {
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		files[p] = file{mode, f.Content}
	}
	if err := writeTree(root, files); err != nil {
		return "", fmt.Errorf("building %s: %w", d.Package, err)
	}
	out := filepath.Join(dir, d.fileName())
	if _, err := run(ctx, "dpkg-deb", "--root-owner-group", "--build", root, out); err != nil {
		return "", fmt.Errorf("building %s: %w", d.Package, err)
	}
	return out, nil
}

package safety

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/drd-linux/drd/internal/execrun"
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

// ParseControl reads the fields of a Debian control paragraph.
// Continuation lines (starting with a blank) are joined to their field.
func ParseControl(data string) map[string]string {
	fields := map[string]string{}
	var last string
	sc := bufio.NewScanner(strings.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			if len(fields) > 0 {
				break // one paragraph
			}
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			fields[last] += "\n" + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.TrimSpace(k)
		fields[last] = strings.TrimSpace(v)
	}
	return fields
}

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

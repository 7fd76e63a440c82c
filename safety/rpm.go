package safety

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/drd-linux/drd/internal/execrun"
)

// rpmScriptlet is the header rpm -q --scripts prints before each
// scriptlet ("postinstall scriptlet (using /bin/sh):") or for a
// scriptlet that is only a program ("postuninstall program: /sbin/ldconfig").
var rpmScriptlet = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(pretrans|preinstall|postinstall|preuninstall|postuninstall|posttrans|preuntrans|postuntrans|verify) (scriptlet(?: \(using ([^)]*)\))?[^:]*:|program: (.*))$`)
})

// ParseRPMScripts reads the output of rpm -q --scripts: scriptlet name
// (preinstall, postinstall, preuninstall, postuninstall, pretrans,
// posttrans...) -> its text. A scriptlet that is only a program is its
// program's path, as a one-line script. Lua scriptlets are kept too; the
// rules read them as shell and find little in them.
func ParseRPMScripts(out string) map[string]string {
	scripts := map[string]string{}
	var cur string
	var body []string
	flush := func() {
		if cur != "" {
			scripts[cur] = strings.Join(body, "\n") + "\n"
		}
		cur, body = "", nil
	}
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		m := rpmScriptlet().FindStringSubmatch(line)
		switch {
		case m != nil && m[4] != "":
			flush()
			scripts[m[1]] = m[4] + "\n"
		case m != nil:
			flush()
			cur = m[1]
		case cur != "":
			body = append(body, line)
		}
	}
	flush()
	return scripts
}

// ReadRPM reads the name, version and scriptlets of an .rpm file with
// rpm -qp.
func ReadRPM(ctx context.Context, run execrun.Runner, file string) (*Package, error) {
	nv, err := run.Run(ctx, "rpm", "-qp", "--nosignature", "--qf", `%{NAME}\n%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\n`, file)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	f := strings.Split(strings.TrimSpace(string(nv)), "\n")
	if len(f) != 2 {
		return nil, fmt.Errorf("reading %s: rpm -qp printed %q, want the name and the version", file, nv)
	}
	out, err := run.Run(ctx, "rpm", "-qp", "--nosignature", "--scripts", file)
	if err != nil {
		return nil, fmt.Errorf("reading the scriptlets of %s: %w", file, err)
	}
	return &Package{Name: f[0], Version: f[1], Fields: map[string]string{}, Scripts: ParseRPMScripts(string(out))}, nil
}

// ReadInstalledRPM reads the name, version and scriptlets of a package
// installed in the image at root, with rpm --root.
func ReadInstalledRPM(ctx context.Context, run execrun.Runner, root, name string) (*Package, error) {
	nv, err := run.Run(ctx, "rpm", "--root", root, "-q", "--qf", `%{NAME}\n%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\n`, name)
	if err != nil {
		return nil, fmt.Errorf("reading package %s of the image: %w", name, err)
	}
	f := strings.Split(strings.TrimSpace(string(nv)), "\n")
	if len(f) < 2 {
		return nil, fmt.Errorf("reading package %s of the image: rpm -q printed %q", name, nv)
	}
	out, err := run.Run(ctx, "rpm", "--root", root, "-q", "--scripts", name)
	if err != nil {
		return nil, fmt.Errorf("reading the scriptlets of %s in the image: %w", name, err)
	}
	return &Package{Name: f[0], Version: f[1], Fields: map[string]string{}, Scripts: ParseRPMScripts(string(out))}, nil
}

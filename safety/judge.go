package safety

import (
	"bufio"
	"fmt"
	"sort"
	"strings"
)

// Level is how safe a package (or one line of its scripts) is to install
// in the runcmd environment.
type Level string

// The levels, from best to worst.
const (
	Safe        Level = "safe"        // X-DRD-Safe: yes, or nothing of Rules in its scripts
	Neutralized Level = "neutralized" // its scripts do what the runcmd environment makes harmless
	Unsafe      Level = "unsafe"      // X-DRD-Safe: no, on the unsafe list, or an Unsafe rule: refused
)

func (l Level) rank() int {
	switch l {
	case Neutralized:
		return 1
	case Unsafe:
		return 2
	}
	return 0
}

// Worse returns the worse of two levels.
func Worse(a, b Level) Level {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Verdict is the judgement of one package.
type Verdict struct {
	Package string `json:"package"`
	Version string `json:"version,omitempty"`
	// Action is what is done to the package: install (or upgrade),
	// remove, reconfigure.
	Action string `json:"action,omitempty"`
	Level  Level  `json:"level"`
	// Override says why Level is not what the rules say: the package's
	// X-DRD-Safe field or the unsafe list.
	Override string    `json:"override,omitempty"`
	Findings []Finding `json:"findings,omitempty"`
}

// Finding is one line of a maintainer script under a Rule.
type Finding struct {
	Script string `json:"script"` // preinst, postinst, prerm, postrm, config; "old prerm" of an upgraded package
	Line   int    `json:"line"`
	Text   string `json:"text"` // the line, trimmed
	Rule   string `json:"rule"`
	Level  Level  `json:"level"`
	What   string `json:"what"`
	Why    string `json:"why"`
}

func (f Finding) String() string {
	return fmt.Sprintf("%s line %d: %s: %s (rule %s)", f.Script, f.Line, f.Text, f.What, f.Rule)
}

// Reasons says in words why v has its level: the override, or the
// findings of that level.
func (v Verdict) Reasons() []string {
	if v.Override != "" {
		return []string{v.Override}
	}
	var rs []string
	for _, f := range v.Findings {
		if f.Level == v.Level {
			rs = append(rs, f.String())
		}
	}
	return rs
}

func (v Verdict) String() string {
	s := fmt.Sprintf("%s %s: %s", v.Package, v.Version, v.Level)
	if rs := v.Reasons(); len(rs) > 0 {
		s += " (" + strings.Join(rs, "; ") + ")"
	}
	return s
}

// UnsafeList is the administrator's list of packages known not to be
// DRD-safe (/etc/drd/unsafe.list): package name -> versions ("" for all)
// and the reason given.
type UnsafeList map[string][]UnsafeEntry

// UnsafeEntry is one line of the unsafe list.
type UnsafeEntry struct {
	Version string // "" for every version
	Reason  string
}

// UnsafeListPath is where the administrator keeps the unsafe list.
const UnsafeListPath = "/etc/drd/unsafe.list"

// ParseUnsafeList reads the unsafe list: one package per line, written
// `name` or `name=version` (one version), then the reason, the rest of
// the line (a leading # is dropped). Blank lines and lines starting
// with # are skipped.
func ParseUnsafeList(data string) (UnsafeList, error) {
	l := UnsafeList{}
	sc := bufio.NewScanner(strings.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		pkg, reason := f[0], strings.TrimSpace(strings.TrimPrefix(strings.Join(f[1:], " "), "#"))
		name, version, _ := strings.Cut(pkg, "=")
		if name == "" || strings.ContainsAny(name, "#=") {
			return nil, fmt.Errorf("%s, line %d: %q: want a package, as name or name=version, then a reason", UnsafeListPath, n, line)
		}
		l[name] = append(l[name], UnsafeEntry{Version: version, Reason: reason})
	}
	return l, sc.Err()
}

// lookup says why package name at version is on the list, if it is.
func (l UnsafeList) lookup(name, version string) (string, bool) {
	for _, e := range l[name] {
		if e.Version == "" || e.Version == version {
			why := "listed in " + UnsafeListPath
			if e.Reason != "" {
				why += ": " + e.Reason
			}
			return why, true
		}
	}
	return "", false
}

// Judge decides whether p may be installed (or removed) in the runcmd
// environment. Every line of its scripts is read against Rules; the
// package is as bad as its worst line. The unsafe list, then the
// package's own X-DRD-Safe field, override that.
func Judge(p *Package, unsafe UnsafeList) Verdict {
	v := Verdict{Package: p.Name, Version: p.Version, Level: Safe}
	names := make([]string, 0, len(p.Scripts))
	for s := range p.Scripts {
		names = append(names, s)
	}
	sort.Strings(names)
	for _, s := range names {
		for _, f := range ScanScript(p.Scripts[s]) {
			f.Script = s
			v.Findings = append(v.Findings, f)
			v.Level = Worse(v.Level, f.Level)
		}
	}
	if why, ok := unsafe.lookup(p.Name, p.Version); ok {
		v.Level, v.Override = Unsafe, why
		return v
	}
	switch strings.ToLower(strings.TrimSpace(p.field("X-DRD-Safe"))) {
	case "no", "false", "0":
		v.Level, v.Override = Unsafe, "the package says X-DRD-Safe: no"
	case "yes", "true", "1":
		v.Level, v.Override = Safe, "the package says X-DRD-Safe: yes"
	}
	return v
}

// ScanScript lists the lines of a maintainer script that fall under a
// rule, each under the first (worst) rule one of its commands matches.
// Lines continued with a backslash are read as one, reported at their
// first line; comments are skipped.
func ScanScript(script string) []Finding {
	var out []Finding
	sc := bufio.NewScanner(strings.NewReader(script))
	sc.Buffer(make([]byte, 64<<10), len(script)+1) // no line is longer than the whole
	var pending string
	start := 0
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if pending == "" {
			start = n
		}
		if strings.HasSuffix(line, "\\") {
			pending += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line, pending = pending+line, ""
		if f, ok := scanLine(line); ok {
			f.Line = start
			out = append(out, f)
		}
	}
	return out
}

// scanLine matches the commands of one line against Rules.
func scanLine(line string) (Finding, bool) {
	cmds := SplitLine(line)
	for _, r := range Rules {
		for _, c := range cmds {
			if r.Match(c) {
				return Finding{Text: strings.TrimSpace(line), Rule: r.Name, Level: r.Level, What: r.What, Why: r.Why}, true
			}
		}
	}
	return Finding{}, false
}

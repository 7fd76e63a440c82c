package verify

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path"
	"strings"

	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/inroot"
)

// RPM-based images: rpm checks its own files (rpm -Va --root), and its
// report is read into verify's kinds. Unknown files and diversions have
// no counterpart there; rpm names no package per line, so Package is "".

// rpmDBs are where an image keeps its rpm database.
var rpmDBs = []string{"/usr/lib/sysimage/rpm", "/var/lib/rpm"}

// HasRPM tells whether the image at root has an rpm database.
func HasRPM(root string) bool {
	for _, d := range rpmDBs {
		if fi, err := inroot.Mounts(root).Stat(d); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

// VerifyRPM runs rpm -Va on the image at root through run (the booted
// system's rpm, with --root) and reads its report.
func VerifyRPM(ctx context.Context, root string, run execrun.Runner) (*Result, error) {
	out, err := run.Run(ctx, "rpm", "-Va", "--nodeps", "--noscripts", "--root", root)
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) { // 1: findings
		return nil, fmt.Errorf("verifying the rpm packages of %s (is rpm installed on this system?): %w", root, err)
	}
	res := &Result{}
	res.Findings, res.Skipped = ParseRPMVerify(string(out))
	sortFindings(res.Findings)
	return res, nil
}

// ParseRPMVerify reads rpm -Va's report: "SM5DLUGTP c /path" lines (a
// dot for a test passed, ? for one not run; the attribute marks a config
// file c, doc d, ghost g, license l, readme r) and "missing   c /path".
// A changed digest, size or link target is modified (a config file:
// conffile); a missing file missing (a config file: conffile); a digest
// rpm could not read is skipped; mode, owner and time alone are not
// content and are left out, as dpkg's checks leave them.
func ParseRPMVerify(out string) ([]Finding, []Skip) {
	var found []Finding
	var skipped []Skip
	for _, line := range strings.Split(out, "\n") {
		flags, rest, ok := strings.Cut(strings.TrimRight(line, "\r"), " ")
		if !ok {
			continue
		}
		rest = strings.TrimLeft(rest, " ")
		attr := byte(' ')
		if len(rest) > 2 && rest[1] == ' ' && strings.IndexByte("cdglr", rest[0]) >= 0 {
			attr, rest = rest[0], strings.TrimLeft(rest[2:], " ")
		}
		p := rest
		if p == "" || p[0] != '/' || path.Clean(p) != p || strings.Contains(p, "\x00") || attr == 'g' {
			continue
		}
		changed := Modified
		if attr == 'c' {
			changed = Conffile
		}
		switch {
		case flags == "missing":
			if attr == 'c' {
				found = append(found, Finding{Path: p, Kind: Conffile})
			} else {
				found = append(found, Finding{Path: p, Kind: Missing})
			}
		case len(flags) < 8 || len(flags) > 9 || strings.Trim(flags, ".SM5DLUGTP?") != "":
			continue // not a line of the report (a dependency problem, a note)
		case flags[0] == 'S' || flags[2] == '5' || flags[4] == 'L':
			found = append(found, Finding{Path: p, Kind: changed})
		case flags[2] == '?':
			skipped = append(skipped, Skip{Path: p, Reason: "rpm could not read it"})
		}
	}
	return found, skipped
}

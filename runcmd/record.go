package runcmd

import (
	"errors"
	"strings"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/eventlog"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/safety"
)

// Outcomes lists, for the event log, the packages that succeeded (they
// reached the state asked for: installed, upgraded or removed, as
// name=version or name removed) and those that failed: left
// half-installed or unpacked by dpkg, judged but not changed when the
// command failed, or refused.
func Outcomes(judged []safety.Verdict, changes []bootenv.PackageChange, failed bool) (succeed, fail []string) {
	changed := map[string]bool{}
	for _, c := range changes {
		changed[c.Package] = true
		name, _, _ := strings.Cut(c.Package, ":")
		changed[name] = true
		switch {
		case c.To == "" || strings.HasSuffix(c.To, "(config-files)"):
			succeed = append(succeed, c.Package+" removed")
		case strings.HasSuffix(c.To, ")"):
			fail = append(fail, c.Package+"="+c.To)
		default:
			succeed = append(succeed, c.Package+"="+c.To)
		}
	}
	seen := map[string]bool{}
	for _, v := range judged {
		if changed[v.Package] || seen[v.Package] {
			continue
		}
		seen[v.Package] = true
		switch {
		case v.Level == safety.Unsafe && failed:
			fail = append(fail, v.Package+"="+v.Version+" (refused)")
		case failed:
			fail = append(fail, v.Package+"="+v.Version)
		}
	}
	return succeed, fail
}

// logEvent writes the runcmd's record into the event log of the booted
// system: the command, and the packages that succeeded and failed (the
// command itself when it changed no package).
func logEvent(opt Options, image string, rep *Report, judged []safety.Verdict, changes []bootenv.PackageChange, err error, r report.Reporter) {
	if judged == nil {
		judged = rep.Packages
	}
	succeed, fail := Outcomes(judged, changes, err != nil)
	cmdline := strings.Join(opt.Argv, " ")
	if len(succeed) == 0 && len(fail) == 0 {
		if err != nil {
			fail = []string{cmdline}
		} else {
			succeed = []string{cmdline}
		}
	}
	name := opt.Name
	if name == "" {
		name = image
	}
	notes := opt.Note
	if errors.Is(err, ErrRefused) && notes == "" {
		notes = "refused: not DRD-safe"
	}
	rec := eventlog.Record{Time: opt.Now(), Type: "runcmd", Name: name, User: opt.User, Notes: notes, Command: cmdline, Succeed: succeed, Fail: fail}
	if werr := eventlog.Append(opt.Root, rec); werr != nil {
		r.Warn("%v", werr)
	}
}

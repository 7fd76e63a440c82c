// Package report is how long operations tell the administrator what they do:
// step lines, details, warnings and progress. The command line implements it;
// tests pass a recorder.
package report

import "time"

// Reporter receives what an operation has to say. Implementations must be
// safe for use from several goroutines.
type Reporter interface {
	// Step announces a step: printed as "* <text>".
	Step(format string, args ...any)
	// Note is a detail of the current step, shown with -v.
	Note(format string, args ...any)
	// Warn reports something the administrator must know; the command then
	// ends with exit code 2 unless it fails.
	Warn(format string, args ...any)
	// Progress updates the live progress of a long step (a line on a
	// terminal, an occasional note otherwise).
	Progress(p Progress)
}

// Progress of a copy or any other long step.
type Progress struct {
	What         string // "copying /", "second pass /var"
	Bytes, Total int64  // bytes done and expected (Total 0: unknown)
	Entries      int64  // entries done
	TotalEntries int64  // entries expected (0: unknown)
	Elapsed      time.Duration
}

// Discard is a Reporter that drops everything.
var Discard Reporter = discard{}

type discard struct{}

func (discard) Step(string, ...any) {}
func (discard) Note(string, ...any) {}
func (discard) Warn(string, ...any) {}
func (discard) Progress(Progress)   {}

// Func adapts a printf-like function (t.Logf) to a Reporter.
type Func func(format string, args ...any)

func (f Func) Step(format string, args ...any) { f("* "+format, args...) }
func (f Func) Note(format string, args ...any) { f("  "+format, args...) }
func (f Func) Warn(format string, args ...any) { f("  WARNING: "+format, args...) }
func (f Func) Progress(p Progress) {
	f("  %s: %d/%d bytes, %d entries", p.What, p.Bytes, p.Total, p.Entries)
}

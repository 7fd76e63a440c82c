// Package console is drd's voice: it implements report.Reporter for the
// command line. The administrator sees, on stderr, a BEGIN banner, "* step"
// lines, notes (with -v), warnings, errors, a live progress line and an END
// banner; everything, at full detail and with timestamps, also goes to the
// log <root>/var/opt/drd/drd.log.
package console

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/internal/eventlog"
	"github.com/drd-linux/drd/internal/report"
)

// Levels of detail on the console: Default plus the number of -v minus the
// number of -q. The log always gets everything.
const (
	Silent  = -1 // -qq: warnings and errors only
	Quiet   = 0  // -q: warnings, errors and the END banner
	Default = 1  // also the BEGIN banner, steps and progress
	Verbose = 2  // -v: also notes
)

// DateFormat is how banners and the log write times: 11/21/26 16:45:03 UTC.
const DateFormat = "01/02/06 15:04:05 MST"

// Options of a Console.
type Options struct {
	Level    int
	Terminal bool             // the console is a terminal: redraw progress in place
	Now      func() time.Time // time.Now if nil
	PID      int              // written into every log line
	// ProgressEvery is how often progress is written as a line to the log
	// (and to the console when it is no terminal); 10 s if zero.
	ProgressEvery time.Duration
}

// Console is a report.Reporter writing to the console and the log. It is
// safe for use from several goroutines.
type Console struct {
	mu       sync.Mutex
	out, log io.Writer
	opt      Options
	what     string
	warnings int
	logErr   error

	drawn      bool      // a progress line is on the terminal
	lastDraw   time.Time // when it was drawn
	lastLogged time.Time // when progress was last written as a line
}

var _ report.Reporter = (*Console)(nil)

// New returns a Console writing to out (stderr) and log (nil for none).
func New(out, log io.Writer, opt Options) *Console {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.ProgressEvery == 0 {
		opt.ProgressEvery = 10 * time.Second
	}
	return &Console{out: out, log: log, opt: opt}
}

// LogPath is the main log of the system image whose root is root.
func LogPath(root string) string {
	return filepath.Join(root, "var/opt/drd/drd.log")
}

// LogMax is the size at which drd.log is rotated when a command opens it,
// and LogKeep how many rotated logs are kept (drd.log.1, the newest, to
// drd.log.25), as many as the session logs: at most 26 MiB in all.
const (
	LogMax  = 1 << 20
	LogKeep = eventlog.Keep
)

// OpenLog opens the main log for appending, creating its directories (0755)
// and the file (0644) if missing. A log of LogMax bytes or more is rotated
// first (drd.log -> drd.log.1 ..., the oldest dropped).
func OpenLog(root string) (*os.File, error) {
	return openLog(LogPath(root), LogMax, LogKeep)
}

// openLog opens path for appending, rotated first if it has max bytes or
// more. The rotation happens under an flock of the log, so two drd
// commands that start together (status takes no lock) rotate it once.
func openLog(path string, max int64, keep int) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating the directory of %s: %w", path, err)
	}
	for range 3 { // another drd may rotate the file we opened: open again
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("opening log: %w", err)
		}
		rotated, err := rotateIfFull(f, path, max, keep)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("rotating the log %s: %w", path, err)
		}
		if !rotated {
			return f, nil
		}
		f.Close()
	}
	return nil, fmt.Errorf("opening log %s: it was rotated three times while drd opened it", path)
}

// rotateIfFull rotates path if f, opened on it, is still path's file and
// has max bytes or more; it tells whether f is no longer the log (rotated,
// by this call or by another process).
func rotateIfFull(f *os.File, path string, max int64, keep int) (bool, error) {
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return false, err
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	if now, err := os.Stat(path); err != nil || !os.SameFile(fi, now) {
		return true, nil // rotated by another drd meanwhile
	}
	if fi.Size() < max {
		return false, nil
	}
	for _, r := range eventlog.Rotation(path, keep) {
		if err := os.Rename(r.From, r.To); err != nil && !errors.Is(err, os.ErrNotExist) {
			return false, err
		}
	}
	return true, nil
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// Begin prints the BEGIN banner of what the command does.
func (c *Console) Begin(what, user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.what = what
	c.line(Default, fmt.Sprintf("=======  %s  BEGIN %s (user=%s)", c.date(), what, user))
}

// End prints err, if any, and the END banner: succeeded, succeeded with
// warnings, or failed.
func (c *Console) End(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	result := "succeeded"
	switch {
	case err != nil:
		c.lines(Silent, "  ERROR: ", err.Error())
		result = "failed"
	case c.warnings > 0:
		result = "succeeded with warnings"
	}
	c.line(Quiet, fmt.Sprintf("=======  %s  END %s %s", c.date(), c.what, result))
}

// Warnings is the number of warnings so far.
func (c *Console) Warnings() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.warnings
}

// Step prints "* text".
func (c *Console) Step(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines(Default, "* ", fmt.Sprintf(format, args...))
}

// Note prints an indented detail, on the console only with -v.
func (c *Console) Note(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines(Verbose, "  ", fmt.Sprintf(format, args...))
}

// Warn prints "  WARNING: text" and counts it.
func (c *Console) Warn(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.warnings++
	c.lines(Silent, "  WARNING: ", fmt.Sprintf(format, args...))
}

// Progress shows p: redrawn in place on a terminal (at most ten times a
// second), and as an ordinary line every ProgressEvery in the log and, when
// the console is no terminal, on the console.
func (c *Console) Progress(p report.Progress) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opt.Now()
	text := FormatProgress(p)
	if c.lastLogged.IsZero() || now.Sub(c.lastLogged) >= c.opt.ProgressEvery {
		c.lastLogged = now
		if c.opt.Terminal {
			c.writeLog("  " + text)
		} else {
			c.line(Default, "  "+text)
		}
	}
	if c.opt.Terminal && c.opt.Level >= Default && (!c.drawn || now.Sub(c.lastDraw) >= 100*time.Millisecond) {
		fmt.Fprintf(c.out, "\r  %s\x1b[K", text)
		c.drawn, c.lastDraw = true, now
	}
}

// lines writes text, prefixed; the lines after the first are indented to
// align under the first.
func (c *Console) lines(level int, prefix, text string) {
	indent := strings.Repeat(" ", len(prefix))
	for i, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if i == 0 {
			c.line(level, prefix+l)
		} else {
			c.line(level, indent+l)
		}
	}
}

// line writes one line to the console if level allows, and to the log.
func (c *Console) line(level int, s string) {
	if c.opt.Level >= level {
		if c.drawn {
			fmt.Fprint(c.out, "\r\x1b[K")
			c.drawn = false
		}
		fmt.Fprintln(c.out, s)
	}
	c.writeLog(s)
}

// writeLog appends one line to the log, in one write so that lines of
// concurrent drd commands do not mix. The first failure is reported as a
// warning and ends logging.
func (c *Console) writeLog(s string) {
	if c.log == nil || c.logErr != nil {
		return
	}
	_, err := fmt.Fprintf(c.log, "%s [%d] %s\n", c.date(), c.opt.PID, s)
	if err != nil {
		c.logErr = err
		c.warnings++
		c.line(Silent, fmt.Sprintf("  WARNING: writing the log failed, it stops here: %v", err))
	}
}

func (c *Console) date() string { return c.opt.Now().Format(DateFormat) }

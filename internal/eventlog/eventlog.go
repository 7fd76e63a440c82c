// Package eventlog writes drd's records of what it changed, under the
// root of the booted system: one log per session
// (/var/opt/drd/log/session.log, the 25 before it as session.log.1 to
// .25) and one line per change in /var/opt/drd/log/event.log (TYPE,
// NAME, USER, NOTES, SUCCEED, FAIL and the time). Formatting and the
// rotation plan are pure; Append and Session do the file work.
package eventlog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Dir is where the logs are, below the root of the booted system.
const Dir = "/var/opt/drd/log"

// Keep is how many earlier session logs are kept.
const Keep = 25

// Record is one change drd made.
type Record struct {
	Time    time.Time
	Type    string   // clone, runcmd, activate...
	Name    string   // what the change is called (-x name=), or the object changed
	User    string   // who ran drd
	Notes   string   // -x note=
	Command string   // the command run (runcmd), or drd's command line
	Succeed []string // what succeeded: packages as name=version, or the command
	Fail    []string // what failed
}

// fields are the record's keys in the order of a line.
var fields = []string{"TYPE", "NAME", "USER", "NOTES", "COMMAND", "SUCCEED", "FAIL"}

// Format makes the one-line text of r: the time (RFC 3339, UTC), then
// KEY="value" for each field, values quoted as Go strings, lists joined
// with commas.
func Format(r Record) string {
	var b strings.Builder
	b.WriteString(r.Time.UTC().Format(time.RFC3339))
	for _, k := range fields {
		fmt.Fprintf(&b, " %s=%s", k, strconv.Quote(r.get(k)))
	}
	return b.String()
}

func (r Record) get(k string) string {
	switch k {
	case "TYPE":
		return r.Type
	case "NAME":
		return r.Name
	case "USER":
		return r.User
	case "NOTES":
		return r.Notes
	case "COMMAND":
		return r.Command
	case "SUCCEED":
		return strings.Join(r.Succeed, ",")
	}
	return strings.Join(r.Fail, ",")
}

// Parse reads a line made by Format.
func Parse(line string) (Record, error) {
	var r Record
	ts, rest, _ := strings.Cut(line, " ")
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return r, fmt.Errorf("event record %q: no time: %w", line, err)
	}
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return r, fmt.Errorf("event record %q: the time %s is outside the years 0-9999 in UTC", line, ts)
	}
	r.Time = t
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			return r, fmt.Errorf("event record %q: %q is not KEY=\"value\"", line, rest)
		}
		q, err := strconv.QuotedPrefix(v)
		if err != nil {
			return r, fmt.Errorf("event record %q: the value of %s: %w", line, k, err)
		}
		rest = v[len(q):]
		s, _ := strconv.Unquote(q)
		list := func() []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		switch k {
		case "TYPE":
			r.Type = s
		case "NAME":
			r.Name = s
		case "USER":
			r.User = s
		case "NOTES":
			r.Notes = s
		case "COMMAND":
			r.Command = s
		case "SUCCEED":
			r.Succeed = list()
		case "FAIL":
			r.Fail = list()
		}
	}
	return r, nil
}

// EventPath and SessionPath are the logs of the system whose root is root.
func EventPath(root string) string   { return filepath.Join(root, Dir, "event.log") }
func SessionPath(root string) string { return filepath.Join(root, Dir, "session.log") }

// Append adds r to the event log of the system at root.
func Append(root string, r Record) error {
	p := EventPath(root)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("writing the event log: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("writing the event log: %w", err)
	}
	_, err = f.WriteString(Format(r) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing the event log %s: %w", p, err)
	}
	return nil
}

// Rename is one step of a rotation.
type Rename struct{ From, To string }

// Rotation is the plan that makes room for a new session log named
// base: base.24 -> base.25 (the oldest is overwritten), ..., base -> base.1.
func Rotation(base string, keep int) []Rename {
	var rs []Rename
	for i := keep - 1; i >= 1; i-- {
		rs = append(rs, Rename{fmt.Sprintf("%s.%d", base, i), fmt.Sprintf("%s.%d", base, i+1)})
	}
	if keep > 0 {
		rs = append(rs, Rename{base, base + ".1"})
	}
	return rs
}

// OpenSession rotates the session logs of the system at root and opens a
// new, empty session.log.
func OpenSession(root string) (*os.File, error) {
	p := SessionPath(root)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("making the session log's directory: %w", err)
	}
	for _, r := range Rotation(p, Keep) {
		if err := os.Rename(r.From, r.To); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("rotating the session logs: %w", err)
		}
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the session log: %w", err)
	}
	return f, nil
}

// Session starts a session log for the system at root and returns w (the
// main log, possibly nil) writing into it too, and the function that ends
// the session. Without a session log (an error) it returns w as it is.
func Session(root string, w io.Writer) (io.Writer, func()) {
	f, err := OpenSession(root)
	if err != nil {
		return w, func() {}
	}
	if w == nil {
		return f, func() { f.Close() }
	}
	return io.MultiWriter(w, f), func() { f.Close() }
}

// Done is the record of a drd command that changed the system and
// records nothing finer (clone, activate): the command line succeeded
// or failed, the first line of the error as the note.
func Done(typ, user, cmdline string, at time.Time, err error) Record {
	r := Record{Time: at, Type: typ, Name: typ, User: user, Command: cmdline}
	if err != nil {
		r.Fail = []string{cmdline}
		r.Notes, _, _ = strings.Cut(err.Error(), "\n")
	} else {
		r.Succeed = []string{cmdline}
	}
	return r
}

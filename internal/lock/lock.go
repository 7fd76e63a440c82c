// Package lock keeps two drd commands that change the system from running
// at once: an exclusive, non-blocking flock on <root>/var/opt/drd/drd.lock,
// whose contents name the holder. The kernel releases a flock when its
// holder dies, so a file left by a dead process is no lock.
package lock

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Path of the lock file of the system image whose root is root.
func Path(root string) string {
	return filepath.Join(root, "var/opt/drd/drd.lock")
}

// Holder is who holds the lock; it is written into the lock file.
type Holder struct {
	PID     int       `json:"pid"`
	User    string    `json:"user"`
	Command string    `json:"command"` // the command line, quoted for a shell
	Since   time.Time `json:"since"`
}

// Lock is a held lock.
type Lock struct {
	f *os.File
}

// ErrBusy is what a BusyError is.
var ErrBusy = errors.New("another drd command is running")

// BusyError says that another command holds the lock, and who.
type BusyError struct {
	Path   string
	Holder Holder
	Known  bool      // Holder could be read from the lock file
	Now    time.Time // when the lock was refused, to say how long ago
}

func (e *BusyError) Error() string {
	if !e.Known {
		return fmt.Sprintf("%v (%s is locked); wait for it to end, then try again", ErrBusy, e.Path)
	}
	since := e.Holder.Since.Format("15:04:05")
	if e.Now.Sub(e.Holder.Since) > 20*time.Hour {
		since = e.Holder.Since.Format("01/02/06 15:04:05 MST")
	}
	return fmt.Sprintf("%v: pid %d (user %s) %q since %s; wait for it to end, or stop it (kill -INT %d), then try again",
		ErrBusy, e.Holder.PID, e.Holder.User, e.Holder.Command, since, e.Holder.PID)
}

func (e *BusyError) Unwrap() error { return ErrBusy }

// Acquire takes the lock of root without waiting and writes h into the
// lock file, creating <root>/var/opt/drd (0755) and the file (0644) if
// missing. If another process holds it, the error is a *BusyError whose
// Now is h.Since: the caller's clock, never the machine's.
func Acquire(root string, h Holder) (*Lock, error) {
	path := Path(root)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating the directory of the lock file: %w", err)
	}
	// No O_TRUNC: until we hold the lock, the contents are the holder's.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, busy(f, path, h.Since)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	l := &Lock{f: f}
	if err := l.write(h); err != nil {
		l.Release()
		return nil, fmt.Errorf("writing the holder into %s: %w", path, err)
	}
	return l, nil
}

func (l *Lock) write(h Holder) error {
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err = l.f.WriteAt(append(b, '\n'), 0)
	return err
}

// busy reads the holder from the lock file. The holder may not have
// written it yet (it locks, then writes), so an empty or partial file is
// read again a few times before giving up on naming the holder.
func busy(f *os.File, path string, now time.Time) error {
	e := &BusyError{Path: path, Now: now}
	for try := 0; try < 5; try++ {
		if try > 0 {
			time.Sleep(20 * time.Millisecond)
		}
		b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<16))
		if err == nil && json.Unmarshal(b, &e.Holder) == nil && e.Holder.PID != 0 {
			e.Known = true
			break
		}
	}
	return e
}

// Release empties the lock file and releases the lock. The file itself
// stays: removing it would let two processes lock two different files.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	errTrunc := l.f.Truncate(0)
	err := l.f.Close() // closing the last descriptor releases the flock
	l.f = nil
	if errTrunc != nil {
		return fmt.Errorf("emptying lock file: %w", errTrunc)
	}
	return err
}

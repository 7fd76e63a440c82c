package main

import (
	"errors"
	"fmt"
	"io"
)

// The exit codes of drd.
const (
	exitOK      = 0 // success
	exitError   = 1 // an error, including a usage error
	exitWarning = 2 // success with warnings
)

// usageError is a mistake in the command line, found before anything is
// done. It is printed as one line and a hint.
type usageError struct {
	cmd  string // "drd clone", or "drd" for the global part
	err  error
	hint string // the line after the error; "" for "Run '<cmd> -h' for help."
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, err: fmt.Errorf(format, args...)}
}

// reportedError has been printed by the console (ERROR and END lines).
type reportedError struct{ err error }

func (e *reportedError) Error() string { return e.err.Error() }
func (e *reportedError) Unwrap() error { return e.err }

// exitCode is the one place that maps a command's outcome to drd's exit
// code. It prints the errors nobody printed yet.
func exitCode(err error, warnings int, stderr io.Writer) int {
	var usage *usageError
	var reported *reportedError
	switch {
	case err == nil && warnings > 0:
		return exitWarning
	case err == nil:
		return exitOK
	case errors.As(err, &usage):
		hint := usage.hint
		if hint == "" {
			hint = fmt.Sprintf("Run '%s -h' for help.", usage.cmd)
		}
		fmt.Fprintf(stderr, "%s: %v\n%s\n", usage.cmd, usage.err, hint)
	case errors.As(err, &reported):
	default:
		fmt.Fprintf(stderr, "drd: %v\n", err)
	}
	return exitError
}

// Package execrun runs external programs through one small interface, so
// that the logic that calls mkfs, tune2fs or lvm can be tested with a fake
// that records argv.
package execrun

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Runner runs a program and returns its standard output.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
}

// Real runs programs for real, with LC_ALL=C so their output parses the
// same everywhere. A failure is wrapped with the command line and what the
// program printed on stderr.
type Real struct{}

// Run implements Runner.
func (Real) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("running %q: %w\n%s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// Fake records the commands it is asked to run and answers from a table
// keyed by the command line; anything not in the table fails the call.
type Fake struct {
	Out  map[string]string // "tune2fs -l /dev/x" -> output
	Errs map[string]error
	Ran  []string
}

// Run implements Runner.
func (f *Fake) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	line := strings.Join(append([]string{name}, args...), " ")
	f.Ran = append(f.Ran, line)
	if err, ok := f.Errs[line]; ok {
		return nil, err
	}
	if out, ok := f.Out[line]; ok {
		return []byte(out), nil
	}
	return nil, fmt.Errorf("unexpected command %q", line)
}

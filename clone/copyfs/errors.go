package copyfs

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ErrTargetFull is matched (errors.Is) by the error of a copy that ran out of
// space or inodes on the target file system.
var ErrTargetFull = errors.New("target file system full")

// fullError is ENOSPC or EDQUOT while writing path.
type fullError struct {
	path string
	err  error
}

func (e *fullError) Error() string {
	return fmt.Sprintf("target file system full while writing %s (%v): make the target larger or exclude more from the copy", e.path, e.err)
}

func (e *fullError) Unwrap() []error { return []error{ErrTargetFull, e.err} }

// isFull tells whether err means the target has no room left.
func isFull(err error) bool {
	return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT)
}

// dstError wraps a failure to write the target entry path.
func dstError(what, path string, err error) error {
	if isFull(err) {
		return &fullError{path: path, err: err}
	}
	return fmt.Errorf("%s %s in the target: %w", what, path, err)
}

// srcError wraps a failure to read the source entry path.
func srcError(what, path string, err error) error {
	return fmt.Errorf("%s %s in the source: %w", what, path, err)
}

// vanished tells whether err means the source entry went away (or changed
// type) while it was being copied: on a live system that is normal, the
// second pass (Sync) catches up.
func vanished(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP)
}

package clone

import "errors"

// undo is a stack of clean-up actions run in reverse order, whatever
// happened: mounts are unmounted and loops detached also on error.
type undo []func() error

func (u *undo) push(f func() error) { *u = append(*u, f) }

// run runs every action, newest first, and joins their errors.
func (u *undo) run() error {
	var errs []error
	for i := len(*u) - 1; i >= 0; i-- {
		if err := (*u)[i](); err != nil {
			errs = append(errs, err)
		}
	}
	*u = nil
	return errors.Join(errs...)
}

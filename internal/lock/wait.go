package lock

import (
	"context"
	"errors"
	"time"
)

// Waiting is how AcquireWaiting waits: for which holders, how often it
// tries again, and what it says when it starts to wait.
type Waiting struct {
	For   func(Holder) bool // wait while such a holder has the lock
	Poll  time.Duration     // between two tries
	Start func(*BusyError)  // called once, when the waiting starts (may be nil)
}

// AcquireWaiting is Acquire that, while the lock's holder is one w.For
// accepts (a short task the machine runs by itself, such as the boot
// check), waits for it to end instead of failing, until ctx ends. Any
// other holder fails at once, as with Acquire.
func AcquireWaiting(ctx context.Context, root string, h Holder, w Waiting) (*Lock, error) {
	started := false
	for {
		l, err := Acquire(root, h)
		var busy *BusyError
		if err == nil || !errors.As(err, &busy) || !busy.Known || !w.For(busy.Holder) {
			return l, err
		}
		if !started && w.Start != nil {
			w.Start(busy)
		}
		started = true
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(w.Poll):
		}
	}
}

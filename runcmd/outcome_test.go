package runcmd

import (
	"context"
	"errors"
	"testing"
)

// TestOutcome: a command that Ctrl-C (relayed through its terminal) or
// a hang-up stopped leaves the image broken, as drd's own interruption
// does; other signals and exit codes are failures.
func TestOutcome(t *testing.T) {
	for _, tc := range []struct {
		res         Result
		result      string
		interrupted bool
	}{
		{Result{}, "succeeded", false},
		{Result{Exit: 130, Signal: "SIGINT"}, "interrupted", true},
		{Result{Exit: 129, Signal: "SIGHUP"}, "interrupted", true},
		{Result{Exit: 137, Signal: "SIGKILL"}, "failed", false},
		{Result{Exit: 1}, "failed", false},
	} {
		res := tc.res
		result, err := outcome(context.Background(), "dpkg", &res, nil)
		if result != tc.result || errors.Is(err, ErrInterrupted) != tc.interrupted {
			t.Errorf("%+v: %s %v", tc.res, result, err)
		}
	}
}

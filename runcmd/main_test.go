package runcmd

import (
	"os"
	"testing"
)

// TestMain lets the test binary be the jail's init and apt hook, as drd
// is: Jail starts /proc/self/exe __jail.
func TestMain(m *testing.M) {
	if code, ok := Main(os.Args); ok {
		os.Exit(code)
	}
	code := m.Run()
	cleanupMinbase()
	os.Exit(code)
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// stopWatchdog stops the watchdog /dev/NAME by its magic close: open,
// write 'V', close (bootenv.WatchdogStopper). softdog is loaded without
// nowayout, so the close stops it.
func stopWatchdog(devDir string) func(name string) error {
	return func(name string) error {
		p := filepath.Join(devDir, name)
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("opening %s (is another program feeding it?): %w", p, err)
		}
		if _, err := f.Write([]byte("V")); err != nil {
			f.Close()
			return fmt.Errorf("writing the magic close to %s: %w", p, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("closing %s: %w", p, err)
		}
		return nil
	}
}

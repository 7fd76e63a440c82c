package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/execrun"
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

// armSoftdog starts softdog for seconds on the running kernel
// (bootenv.WatchdogArmer): modprobe softdog when it is not loaded, open
// its device (which starts it), set the timeout, and close it without
// the magic character, so that it keeps running with nobody feeding it
// (the kernel says "watchdog did not stop!"). The boot check of the
// soft-rebooted trial stops it.
func armSoftdog(run execrun.Runner, sysDir, devDir string) func(seconds int) error {
	return func(seconds int) error {
		dev, err := bootenv.SoftdogDevice(sysDir)
		if err != nil {
			return err
		}
		if dev == "" {
			if _, err := run.Run(context.Background(), "modprobe", "softdog"); err != nil {
				return err
			}
			if dev, err = bootenv.SoftdogDevice(sysDir); err != nil || dev == "" {
				return fmt.Errorf("softdog loaded, but no watchdog in %s says %q: %v", filepath.Join(sysDir, "class/watchdog"), "Software Watchdog", err)
			}
		}
		p := filepath.Join(devDir, dev)
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("opening %s (is another program feeding it?): %w", p, err)
		}
		defer f.Close() // without 'V': it keeps running
		if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.WDIOC_SETTIMEOUT, seconds); err != nil {
			return fmt.Errorf("setting the timeout of %s to %d s: %w", p, seconds, err)
		}
		return nil
	}
}

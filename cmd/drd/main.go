// Command drd is Dynamic Root Disk for Linux: it clones the booted system
// image to another disk or an image file, mounts the inactive image, and
// shows the images' status. See docs/cli.md for the reference.
//
// This file only wires the real machine in; each subcommand is one file
// (clone.go, status.go, mount.go, umount.go) and app.go runs a command line.
package main

import (
	"context"
	"os"

	"github.com/drd-linux/drd/runcmd"
)

func main() {
	// The runcmd environment's init and apt hook are drd started again
	// under a hidden first argument, before anything else is set up.
	if code, ok := runcmd.Main(os.Args); ok {
		os.Exit(code)
	}
	os.Exit(runMain())
}

// runMain runs drd on the real machine and returns its exit code.
func runMain() int { return runMainAs(os.Geteuid()) }

// runMainAs is runMain with the caller's uid given (the test scripts).
func runMainAs(uid int) int {
	ctx, stop := cancelOnSignals(context.Background(), os.Stderr, os.Exit)
	defer stop()
	sys := realSystem()
	sys.uid = uid
	return run(ctx, os.Args, os.Stdout, os.Stderr, sys)
}

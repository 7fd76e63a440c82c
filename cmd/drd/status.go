package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/console"
)

func init() {
	register(&command{
		name:  "status",
		usage: "show the system images: original, clones, booted and activated",
		what:  "Display DRD System Image Information",
		flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the status as one JSON document on stdout"},
		},
		run: runStatus,
	})
}

// runStatus scans for the images and prints them on stdout: the table, or
// JSON with --json. -v adds labels, space used and each image's history.
func runStatus(ctx context.Context, inv *invocation) error {
	inv.r.Step("Scanning for system images")
	st, err := inv.sys.scan(ctx, inv.root)
	if err != nil {
		return fmt.Errorf("scanning for system images: %w", err)
	}
	if st == nil {
		st = &bootenv.Status{}
	}
	if inv.cmd.Bool("json") {
		if err := writeJSON(inv.stdout, st); err != nil {
			return fmt.Errorf("writing the status: %w", err)
		}
		return nil
	}
	if _, err := fmt.Fprint(inv.stdout, formatStatus(st, inv.sys.loc, inv.level >= console.Verbose)); err != nil {
		return fmt.Errorf("writing the status: %w", err)
	}
	return nil
}

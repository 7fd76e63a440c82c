package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/urfave/cli/v3"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/clone/imagesync"
	"github.com/drd-linux/drd/internal/columns"
	"github.com/drd-linux/drd/internal/options"
)

func init() {
	register(&command{
		name:      "sync",
		usage:     "bring the booted image's changes since the clone (or the last sync) into an inactive image",
		argsUsage: "[IMAGE]",
		what:      "Synchronize Inactive System Image",
		maxArgs:   1,
		preview:   true,
		locks:     true,
		options:   syncSpecs,
		flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the decisions as one JSON document on stdout"},
		},
		run: runSync,
	})
}

// syncSpecs are the extended options of drd sync.
var syncSpecs = []options.Spec{
	{Name: "exclude", Type: options.List, Help: "an absolute path of the image never synced (repeat for more), besides /etc/drd/sync.exclude and the paths never synced (docs/sync.md)"},
}

func runSync(ctx context.Context, inv *invocation) error {
	name := imageArg(inv.args)
	res, err := inv.sys.sync(ctx, imagesync.Options{
		Machine: bootenv.Real(inv.root), Image: name, Preview: inv.preview,
		Exclude: inv.opts.List("exclude"), Logf: inv.r.Note,
	}, inv.r)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", imageWord(name), err)
	}
	return reportSync(inv, res)
}

// reportSync prints the result (the table, or --json) and warns of what
// is left: conflicts and packages make the exit code 2.
func reportSync(inv *invocation, res *imagesync.Result) error {
	if err := reportSyncSummary(inv, res); err != nil {
		return err
	}
	if inv.cmd.Bool("json") {
		if err := writeJSON(inv.stdout, res); err != nil {
			return fmt.Errorf("writing the result: %w", err)
		}
		return nil
	}
	return printSyncTable(inv, res)
}

// reportSyncSummary reports the notes and warns of every conflict (the
// warnings make the exit code 2; packages left out were warned of by
// the sync).
func reportSyncSummary(inv *invocation, res *imagesync.Result) error {
	for _, n := range res.Notes {
		inv.r.Note("%s", n)
	}
	for _, c := range res.Conflicts {
		inv.r.Warn("conflict: %s: %s", c.Path, c.Reason)
	}
	if len(res.Conflicts) > 0 {
		inv.r.Warn("%d entries in conflict (%s/%s): the clone keeps its own; the booted version of a file is beside it as FILE%s", len(res.Conflicts), imagesync.Dir, imagesync.ConflictsList, imagesync.BootedSuffix)
	}
	return nil
}

// printSyncTable prints the counts as a table on stdout.
func printSyncTable(inv *invocation, res *imagesync.Result) error {
	c := res.Counts
	verb := "synced"
	if inv.preview {
		verb = "to sync (preview: nothing changed)"
	}
	rows := [][]string{
		{"Image", res.Image + " (" + verb + ")"},
		{"Copied", strconv.Itoa(c.Copied)},
		{"Deleted", strconv.Itoa(c.Deleted)},
		{"Merged", strconv.Itoa(c.Merged)},
		{"Conflicts", strconv.Itoa(c.Conflicts)},
		{"Excluded", strconv.Itoa(c.Excluded)},
		{"Packages", strconv.Itoa(c.Packages)},
		{"Checked", strconv.Itoa(c.Checked) + " entries, " + strconv.FormatInt(c.Bytes, 10) + " bytes copied"},
		{"Lists", imagesync.Dir + "/*.list"},
	}
	if _, err := fmt.Fprint(inv.stdout, columns.Format(rows, "")); err != nil {
		return fmt.Errorf("writing the result: %w", err)
	}
	return nil
}

package main

import (
	"context"
	"fmt"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/columns"
)

func init() {
	register(&command{
		name:      "commit",
		usage:     "make the booted image, good after its trial boot, the base: retire the other image (its disk may be cloned to again)",
		argsUsage: "[IMAGE]",
		what:      "Commit System Image",
		maxArgs:   1,
		preview:   true,
		locks:     true,
		run:       runCommit,
	})
}

// runCommit commits the booted image (or the one named, which must be
// the booted one) and prints what changed: each retired image, its
// state before and after.
func runCommit(ctx context.Context, inv *invocation) error {
	name := imageArg(inv.args)
	opt := bootenv.CommitOptions{Image: name, Preview: inv.preview}
	p, err := inv.sys.commit(ctx, inv.root, opt, inv.r)
	if err != nil {
		return fmt.Errorf("committing %s: %w", commitWord(name), err)
	}
	if len(p.Changes) == 0 {
		return nil
	}
	if _, err := fmt.Fprint(inv.stdout, formatCommit(p, inv.preview)); err != nil {
		return fmt.Errorf("writing what changed: %w", err)
	}
	return nil
}

func commitWord(name string) string {
	if name == "" {
		return "the booted image"
	}
	return name
}

// formatCommit is the table of what a commit changed (preview: would
// change).
func formatCommit(p bootenv.CommitPlan, preview bool) string {
	after := "STATE NOW"
	if preview {
		after = "STATE AFTER COMMIT"
	}
	rows := [][]string{{"IMAGE", "DISK", "STATE BEFORE", after}}
	rows = append(rows, []string{p.Base.Name, where(p.Base), string(p.Base.State), string(p.Base.State) + " (the base)"})
	for _, c := range p.Changes {
		rows = append(rows, []string{c.Image, c.Disk, orNone(string(c.From)), string(c.To)})
	}
	return columns.Format(rows, "")
}

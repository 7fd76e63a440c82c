package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/columns"
	"github.com/drd-linux/drd/internal/console"
	"github.com/drd-linux/drd/verify"
)

func init() {
	register(&command{
		name:      "diff",
		usage:     "compare two system images: packages added, removed, upgraded; files added, removed, changed",
		argsUsage: "A B",
		what:      "Compare System Images",
		maxArgs:   2,
		locks:     true, // it may mount the images
		flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the whole comparison as one JSON document on stdout"},
		},
		check: func(inv *invocation) error {
			if len(inv.args) != 2 {
				return errors.New("name the two images to compare: drd diff sysimage_000 sysimage_001")
			}
			return nil
		},
		run: runDiff,
	})
}

// runDiff compares images A and B, each read where it is (booted,
// mounted) or mounted read-only for the comparison only.
func runDiff(ctx context.Context, inv *invocation) error {
	nameA, nameB := inv.args[0], inv.args[1]
	return inv.sys.withImage(ctx, inv.root, nameA, false, inv.r, func(dirA string, a *bootenv.Image) error {
		return inv.sys.withImage(ctx, inv.root, nameB, false, inv.r, func(dirB string, b *bootenv.Image) error {
			inv.r.Step("Comparing %s with %s", a.Name, b.Name)
			d, err := verify.Diff(ctx, verify.DiffOptions{A: dirA, B: dirB, MountsA: mountPoints(a), MountsB: mountPoints(b)})
			if err != nil {
				return fmt.Errorf("comparing %s with %s: %w", a.Name, b.Name, err)
			}
			d.A, d.B = a.Name, b.Name
			if inv.cmd.Bool("json") {
				return writeJSON(inv.stdout, d)
			}
			_, err = fmt.Fprint(inv.stdout, formatDiff(d, inv.level >= console.Verbose))
			return err
		})
	})
}

func mountPoints(img *bootenv.Image) []string {
	var out []string
	for _, f := range img.FileSystems {
		out = append(out, f.MountPoint)
	}
	return out
}

// formatDiff is the text of drd diff: the packages, then the files per
// top directory, every file with all.
func formatDiff(d *verify.Difference, all bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Packages from %s to %s: %d added, %d removed, %d upgraded\n", d.A, d.B, len(d.Packages.Added), len(d.Packages.Removed), len(d.Packages.Upgraded))
	var rows [][]string
	for _, p := range d.Packages.Added {
		rows = append(rows, []string{"added", p.Name, p.Version})
	}
	for _, p := range d.Packages.Removed {
		rows = append(rows, []string{"removed", p.Name, p.Version})
	}
	for _, p := range d.Packages.Upgraded {
		rows = append(rows, []string{"upgraded", p.Name, p.From + " -> " + p.To})
	}
	b.WriteString(columns.Format(rows, "  "))
	fmt.Fprintf(&b, "Files: %d added, %d removed, %d changed\n", len(d.Files.Added), len(d.Files.Removed), len(d.Files.Changed))
	rows = [][]string{{"DIRECTORY", "ADDED", "REMOVED", "CHANGED"}}
	for _, s := range verify.Summarize(d.Files) {
		rows = append(rows, []string{s.Dir, fmt.Sprint(s.Added), fmt.Sprint(s.Removed), fmt.Sprint(s.Changed)})
	}
	if len(rows) > 1 {
		b.WriteString(columns.Format(rows, "  "))
	}
	if all {
		for _, l := range []struct {
			what  string
			paths []string
		}{{"added", d.Files.Added}, {"removed", d.Files.Removed}, {"changed", d.Files.Changed}} {
			for _, p := range l.paths {
				fmt.Fprintf(&b, "  %-8s %s\n", l.what, p)
			}
		}
	}
	return b.String()
}

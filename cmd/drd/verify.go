package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/columns"
	"github.com/drd-linux/drd/internal/console"
	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/options"
	"github.com/drd-linux/drd/verify"
)

func init() {
	register(&command{
		name:      "verify",
		usage:     "check an image's files against its packages: missing, modified, unknown files...",
		argsUsage: "[IMAGE]",
		what:      "Verify System Image",
		maxArgs:   1,
		locks:     true, // it may mount an image
		flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the findings as one JSON document on stdout"},
		},
		options: []options.Spec{
			{Name: "baseline", Type: options.Bool, Default: "false", Help: "accept today's findings as the image's baseline (kept in its /var/opt/drd/verify): later runs report only what is new"},
		},
		run: runVerify,
	})
}

// verifyJSON is drd verify --json.
type verifyJSON struct {
	Image    string              `json:"image"`
	Findings []verify.Finding    `json:"findings"`
	Counts   map[verify.Kind]int `json:"counts"`
}

// runVerify checks the image named (the booted one if none), prints the
// findings new since its baseline (all with -v), logs them to the booted
// image's verify.log and fails with warnings (exit 2) when a packaged
// file is newly missing or modified.
func runVerify(ctx context.Context, inv *invocation) error {
	keep := inv.opts.Bool("baseline")
	name := imageArg(inv.args)
	return inv.sys.withImage(ctx, inv.root, name, keep, inv.r, func(dir string, img *bootenv.Image) error {
		inv.r.Step("Verifying %s against its package database", img.Name)
		res, err := verify.Verify(ctx, verify.Options{Root: dir, RPM: execrun.Real{}, Logf: inv.r.Note})
		if err != nil {
			return fmt.Errorf("verifying %s: %w", img.Name, err)
		}
		inv.r.Note("%d packages, %d files (%.1f MB) checked", res.Packages, res.Files, float64(res.Bytes)/1e6)
		for _, s := range res.Skipped {
			inv.r.Note("not checked: %s", skipText(s))
		}
		base, err := verify.ReadBaseline(dir)
		if err != nil {
			return err
		}
		fresh, known := verify.Split(res.Findings, base)
		if base != nil {
			inv.r.Note("baseline of %s by %s: %d findings", base.Date.In(inv.sys.loc).Format("2006-01-02 15:04"), base.User, len(base.Findings))
		}
		text := formatVerify(fresh, known, base != nil, inv.level >= console.Verbose)
		if err := verify.WriteLog(inv.root, fmt.Sprintf("%s %s by %s\n%s", inv.sys.now().Format(console.DateFormat), img.Name, inv.sys.user, formatVerify(fresh, known, base != nil, true))); err != nil {
			inv.r.Warn("%v", err)
		}
		if inv.cmd.Bool("json") {
			shown := fresh
			if inv.level >= console.Verbose {
				shown = res.Findings
			}
			if shown == nil {
				shown = []verify.Finding{}
			}
			if err := writeJSON(inv.stdout, verifyJSON{Image: img.Name, Findings: shown, Counts: verify.Counts(shown)}); err != nil {
				return fmt.Errorf("writing the findings: %w", err)
			}
		} else if _, err := fmt.Fprint(inv.stdout, text); err != nil {
			return fmt.Errorf("writing the findings: %w", err)
		}
		if keep {
			b := &verify.Baseline{Date: inv.sys.now(), User: inv.sys.user, Findings: res.Findings}
			if err := verify.WriteBaseline(dir, b); err != nil {
				return fmt.Errorf("keeping the baseline of %s: %w", img.Name, err)
			}
			inv.r.Step("%d findings kept as the baseline of %s (%s)", len(res.Findings), img.Name, verify.BaselinePath)
			return nil
		}
		serious := 0
		for _, f := range fresh {
			if f.Kind.Serious() {
				serious++
			}
		}
		if serious > 0 {
			inv.r.Warn("%d packaged files of %s are missing or modified%s", serious, img.Name, map[bool]string{true: " since the baseline", false: ""}[base != nil])
		}
		return nil
	})
}

// skipText says why a file or package was not checked.
func skipText(s verify.Skip) string {
	what := s.Path
	if what == "" {
		what = "package " + s.Package
	}
	return what + ": " + s.Reason
}

// formatVerify is the text of drd verify: a table of counts per kind,
// then the findings (path, kind, package); those of the baseline only
// if all, marked as such.
func formatVerify(fresh, known []verify.Finding, hasBase, all bool) string {
	var b strings.Builder
	cf, ck := verify.Counts(fresh), verify.Counts(known)
	rows := [][]string{{"KIND", "NEW"}}
	if hasBase {
		rows[0] = append(rows[0], "BASELINE")
	}
	for _, k := range verify.Kinds {
		row := []string{string(k), fmt.Sprint(cf[k])}
		if hasBase {
			row = append(row, fmt.Sprint(ck[k]))
		}
		rows = append(rows, row)
	}
	b.WriteString(columns.Format(rows, ""))
	list := [][]string{}
	for _, f := range fresh {
		list = append(list, []string{f.Path, string(f.Kind), f.Package})
	}
	if all {
		for _, f := range known {
			list = append(list, []string{f.Path, string(f.Kind), f.Package, "(baseline)"})
		}
	}
	if len(list) > 0 {
		b.WriteString("\n" + columns.Format(append([][]string{{"PATH", "KIND", "PACKAGE"}}, list...), ""))
	}
	return b.String()
}

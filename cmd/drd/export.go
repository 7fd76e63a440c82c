package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"aead.dev/minisign"
	"github.com/urfave/cli/v3"

	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/images/artifact"
	"github.com/drd-linux/drd/internal/options"
)

func init() {
	register(&command{
		name:      "export",
		usage:     "write an inactive system image as one signed artifact (a file, or - for standard output) for drd import on hosts of the same build",
		argsUsage: "[IMAGE]",
		what:      "Export System Image",
		maxArgs:   1,
		locks:     true,
		flags: []cli.Flag{
			&cli.StringFlag{Name: "o", Aliases: []string{"output"}, Usage: "the artifact `FILE`, or - for standard output"},
		},
		options: exportSpecs,
		check: func(inv *invocation) error {
			if inv.cmd.String("o") == "" {
				return errors.New("no output: give -o FILE, or -o - for standard output")
			}
			if l := inv.opts.Int("zstd_level"); l < 1 || l > 22 {
				return fmt.Errorf("-x zstd_level=%d: give a level from 1 (fastest) to 22 (smallest)", l)
			}
			return nil
		},
		run: runExport,
	})
}

// exportSpecs are the extended options of drd export.
var exportSpecs = []options.Spec{
	{Name: "sign_key", Type: options.String, Help: "sign the artifact with this minisign secret key FILE (unencrypted: minisign -G -W)"},
	{Name: "zstd_level", Type: options.Int, Default: "3", Help: "zstd compression level, 1 (fastest) to 22 (smallest)"},
	{Name: "delta", Type: options.Bool, Default: "false", Help: "export only what differs from the booted image, which the image was cloned from; the artifact names that base, and an import needs it booted"},
}

func runExport(ctx context.Context, inv *invocation) error {
	name := imageArg(inv.args)
	out := inv.cmd.String("o")
	var key *minisign.PrivateKey
	if f := inv.opts.String("sign_key"); f != "" {
		k, err := artifact.LoadSecretKey(f)
		if err != nil {
			return fmt.Errorf("exporting %s: %w", imageWord(name), err)
		}
		key = &k
	} else {
		inv.r.Warn("the artifact is not signed: hosts with trusted keys refuse it; sign with -x sign_key=FILE")
	}
	opt := clone.ExportOptions{Root: inv.root, Image: name, Key: key, Level: int(inv.opts.Int("zstd_level")), Delta: inv.opts.Bool("delta")}
	if out == "-" {
		opt.Output = inv.stdout
		_, err := inv.sys.export(ctx, opt, inv.r)
		if err != nil {
			return fmt.Errorf("exporting %s: %w", imageWord(name), err)
		}
		return nil
	}
	// A file appears only whole: written beside, renamed at the end.
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return fmt.Errorf("exporting %s: %w", imageWord(name), err)
	}
	defer os.Remove(tmp.Name())
	opt.Output = tmp
	m, err := inv.sys.export(ctx, opt, inv.r)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), out)
	}
	if err != nil {
		return fmt.Errorf("exporting %s to %s: %w", imageWord(name), out, err)
	}
	inv.r.Step("Wrote %s: %d file systems, signed: %v", out, len(m.Members), key != nil)
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/images/artifact"
	"github.com/drd-linux/drd/internal/options"
)

func init() {
	register(&command{
		name:      "import",
		usage:     "make a new inactive system image on a disk or an image file from an artifact of drd export (a file, or - for standard input); this host keeps its identity",
		argsUsage: "FILE|-",
		what:      "Import System Image",
		preview:   true,
		locks:     true,
		maxArgs:   1,
		flags: []cli.Flag{
			&cli.StringFlag{Name: "t", Aliases: []string{"target"}, Usage: "the `TARGET`: a whole disk (/dev/sdb) or an image file (/srv/clone.img)"},
		},
		options: importSpecs,
		check: func(inv *invocation) error {
			if len(inv.args) != 1 {
				return errors.New("no artifact: give the FILE drd export wrote, or - to read standard input")
			}
			if inv.cmd.String("t") == "" {
				return errors.New("no target: give -t DISK or -t IMAGE_FILE")
			}
			return nil
		},
		run: runImport,
	})
}

// importSpecs are the extended options of drd import: clone's target
// options and the keys to trust.
var importSpecs = append(append([]options.Spec{
	{Name: "trust_key", Type: options.List, Help: "a minisign public key FILE whose signature is trusted (repeatable); with any trusted key, here or in /etc/drd/trusted.d/*.pub, unsigned artifacts and artifacts signed by another key are refused"},
}, targetSpecs...), efiVarsSpec)

func runImport(ctx context.Context, inv *invocation) error {
	file, target := inv.args[0], inv.cmd.String("t")
	trust, err := artifact.LoadTrust(inv.root, inv.opts.List("trust_key"))
	if err != nil {
		return fmt.Errorf("importing %s: %w", file, err)
	}
	if len(trust) == 0 {
		inv.r.Warn("no trusted key (-x trust_key=FILE, /etc/drd/trusted.d/*.pub): the artifact's signature is not checked, only its digests")
	}
	var in io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("importing %s: %w", file, err)
		}
		defer f.Close()
		in = f
	}
	opt := clone.Options{Root: inv.root, Target: target, Preview: inv.preview}
	setTarget(&opt, inv.opts)
	v, err := firmwareVars(inv)
	if err != nil {
		return fmt.Errorf("importing %s to %s: %w", file, target, err)
	}
	opt.EFI = v
	if err := inv.sys.imprt(ctx, opt, clone.ImportSource{Name: file, R: in, Trust: trust}, inv.r); err != nil {
		return fmt.Errorf("importing %s to %s: %w", file, target, err)
	}
	return nil
}

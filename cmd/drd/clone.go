package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/urfave/cli/v3"

	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/internal/options"
)

func init() {
	register(&command{
		name:    "clone",
		usage:   "copy the booted system image to another disk or an image file",
		what:    "Clone System Image",
		preview: true,
		locks:   true,
		flags: []cli.Flag{
			&cli.StringFlag{Name: "t", Aliases: []string{"target"}, Usage: "the `TARGET`: a whole disk (/dev/sdb) or an image file (/srv/clone.img)"},
		},
		options: cloneSpecs,
		check: func(inv *invocation) error {
			if inv.cmd.String("t") == "" {
				return errors.New("no target: give -t DISK or -t IMAGE_FILE")
			}
			return nil
		},
		run: runClone,
	})
}

// targetSpecs are the extended options of a command that makes a new
// image on a target (drd clone, drd import): one definition for both.
var targetSpecs = []options.Spec{
	{Name: "overwrite", Type: options.Bool, Default: "false", Help: "accept a target that carries data (partitions, file systems); that data is lost"},
	{Name: "esp", Type: options.Bool, Default: "false", Help: "give the new image an EFI system partition even if the booted image has none"},
	{Name: "image_size", Type: options.Size, Default: "0", Help: "size of a new image file (8G, 500M); 0: from the space in use"},
}

// setTarget puts the values of targetSpecs into o.
func setTarget(o *clone.Options, v options.Values) {
	o.Overwrite, o.ESP, o.ImageSize = v.Bool("overwrite"), v.Bool("esp"), v.Size("image_size")
}

// cloneSpecs are the extended options of drd clone.
var cloneSpecs = append(slices.Clone(targetSpecs),
	options.Spec{Name: "exclude", Type: options.List, Help: "a path in the image whose contents are not copied; repeat for more"},
	options.Spec{Name: "snapshot", Type: options.String, Default: "auto", Help: "root on LVM: copy from LVM snapshots taken together: auto (when the volume group has room; else two passes and a warning), always (an error if it has no room), never",
		Choices: []string{clone.SnapshotAuto, clone.SnapshotAlways, clone.SnapshotNever}},
	options.Spec{Name: "baseline", Type: options.Bool, Default: "true", Help: "after the copy, verify the booted image (drd verify: tens of seconds) and keep its findings as the clone's baseline, so that drd verify of the clone shows only what changed in it since; false: no baseline, a faster clone, but drd verify of the clone then also reports what the booted image already had (until drd verify -x baseline=true of the clone)"},
	efiVarsSpec,
)

func runClone(ctx context.Context, inv *invocation) error {
	target := inv.cmd.String("t")
	opt := cloneOptions(inv.root, target, inv.preview, inv.opts)
	v, err := firmwareVars(inv)
	if err != nil {
		return fmt.Errorf("cloning to %s: %w", target, err)
	}
	opt.EFI = v
	if err := inv.sys.clone(ctx, opt, inv.r); err != nil {
		return fmt.Errorf("cloning to %s: %w", target, err)
	}
	return nil
}

// cloneOptions turns a parsed command line into the options of clone.Run.
func cloneOptions(root, target string, preview bool, v options.Values) clone.Options {
	o := clone.Options{
		Root:       root,
		Target:     target,
		Preview:    preview,
		Exclude:    v.List("exclude"),
		Snapshot:   v.String("snapshot"),
		NoBaseline: !v.Bool("baseline"),
	}
	setTarget(&o, v)
	return o
}

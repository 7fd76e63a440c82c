package main

import (
	"context"
	"fmt"
)

func init() {
	register(&command{
		name:      "umount",
		usage:     "unmount what drd mount mounted",
		argsUsage: "[IMAGE]",
		what:      "Unmount Inactive System Image",
		maxArgs:   1,
		locks:     true,
		run:       runUmount,
	})
}

// runUmount unmounts the image named by the argument (the inactive image
// if none).
func runUmount(ctx context.Context, inv *invocation) error {
	name := imageArg(inv.args)
	if err := inv.sys.umount(ctx, inv.root, name, inv.r); err != nil {
		return fmt.Errorf("unmounting %s: %w", imageWord(name), err)
	}
	return nil
}

package main

import (
	"context"
	"fmt"
)

func init() {
	register(&command{
		name:      "mount",
		usage:     "mount an inactive system image under /var/opt/drd/mnts and print where",
		argsUsage: "[IMAGE]",
		what:      "Mount Inactive System Image",
		maxArgs:   1,
		locks:     true,
		run:       runMount,
	})
}

// runMount mounts the image named by the argument (the inactive image if
// none) and prints the directory on stdout, for scripts.
func runMount(ctx context.Context, inv *invocation) error {
	name := imageArg(inv.args)
	dir, err := inv.sys.mount(ctx, inv.root, name, inv.r)
	if err != nil {
		return fmt.Errorf("mounting %s: %w", imageWord(name), err)
	}
	fmt.Fprintln(inv.stdout, dir)
	return nil
}

// imageArg is the optional IMAGE argument: "" for the inactive image.
func imageArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// imageWord names an image in a message.
func imageWord(name string) string {
	if name == "" {
		return "the inactive system image"
	}
	return name
}

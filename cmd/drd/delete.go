package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/drd-linux/drd/bootenv"
)

func init() {
	for _, forget := range []bool{false, true} {
		c := &command{
			name:      "delete",
			usage:     "remove an inactive system image: wipe its disk or remove its image file, and its records",
			argsUsage: "IMAGE",
			what:      "Delete System Image",
			maxArgs:   1,
			preview:   true,
			locks:     true,
			check:     needImage,
			run:       func(ctx context.Context, inv *invocation) error { return runDelete(ctx, inv, forget) },
		}
		if forget {
			c.name, c.what = "forget", "Forget System Image"
			c.usage = "remove the records of an image whose disk or image file is gone (drd delete for one that is there)"
		}
		register(c)
	}
}

// needImage wants the IMAGE argument: drd never guesses what to delete.
func needImage(inv *invocation) error {
	if len(inv.args) == 0 {
		return errors.New("name the image (drd status lists them)")
	}
	return nil
}

// runDelete deletes (or, forget, forgets) the image the argument names.
func runDelete(ctx context.Context, inv *invocation, forget bool) error {
	name := inv.args[0]
	opt := bootenv.DeleteOptions{Image: name, Forget: forget, Preview: inv.preview}
	if err := inv.sys.delete(ctx, inv.root, opt, inv.r); err != nil {
		verb := "deleting"
		if forget {
			verb = "forgetting"
		}
		return fmt.Errorf("%s %s: %w", verb, name, err)
	}
	return nil
}

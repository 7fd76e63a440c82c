package main

import (
	"context"
	"fmt"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/options"
)

func init() {
	register(&command{
		name:    "deactivate",
		usage:   "undo drd activate: the booted image boots next again",
		what:    "Deactivate System Image",
		preview: true,
		locks:   true,
		options: []options.Spec{
			{Name: "reboot", Type: options.String, Default: "false", Choices: []string{"false", "true", "firmware"}, Help: "reboot when done (true: by the firmware)"},
			efiVarsSpec,
		},
		run: runDeactivate,
	})
}

func runDeactivate(ctx context.Context, inv *invocation) error {
	opt := bootenv.ActivateOptions{Deactivate: true, Preview: inv.preview}
	m, err := machine(inv)
	if err != nil {
		return fmt.Errorf("deactivating: %w", err)
	}
	if err := inv.sys.activate(ctx, m, opt, inv.r); err != nil {
		return fmt.Errorf("deactivating: %w", err)
	}
	return maybeReboot(ctx, inv)
}

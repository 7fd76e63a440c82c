package main

import (
	"context"
	"fmt"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/options"
)

func init() {
	register(&command{
		name:   "boot-check",
		usage:  "the boot-time pass (run by drd-boot-check.service): record what booted, judge a trial boot",
		what:   "Boot Assessment",
		hidden: true,
		locks:  true,
		options: []options.Spec{
			{Name: "health_timeout", Type: options.Duration, Default: "5m", Help: "how long the health checks of /etc/drd/checks.d may take together (90s, 5m)"},
			efiVarsSpec,
		},
		run: runBootCheck,
	})
}

func runBootCheck(ctx context.Context, inv *invocation) error {
	opt := bootenv.CheckOptions{HealthTimeout: inv.opts.Duration("health_timeout")}
	m, err := machine(inv)
	if err != nil {
		return fmt.Errorf("assessing the boot: %w", err)
	}
	if err := inv.sys.bootCheck(ctx, m, opt, inv.r); err != nil {
		return fmt.Errorf("assessing the boot: %w", err)
	}
	return nil
}

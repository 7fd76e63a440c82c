package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

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
			{Name: "managed_only", Type: options.Bool, Default: "false", Help: "do nothing (exit 0) on a system whose image drd has no record of yet: the packaged unit's way to wait for the first drd clone"},
			efiVarsSpec,
		},
		run: runBootCheck,
	})
}

func runBootCheck(ctx context.Context, inv *invocation) error {
	if inv.opts.Bool("managed_only") {
		if _, err := bootenv.ReadRecord(inv.root); errors.Is(err, fs.ErrNotExist) {
			inv.r.Note("no drd record of this system image (%s): nothing to assess until drd clone", bootenv.RecordPath)
			return nil
		}
	}
	opt := bootenv.CheckOptions{HealthTimeout: inv.opts.Duration("health_timeout"), StopWatchdog: stopWatchdog("/dev")}
	m, err := machine(inv)
	if err != nil {
		return fmt.Errorf("assessing the boot: %w", err)
	}
	if err := inv.sys.bootCheck(ctx, m, opt, inv.r); err != nil {
		return fmt.Errorf("assessing the boot: %w", err)
	}
	return nil
}

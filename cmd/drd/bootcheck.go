package main

import (
	"context"
	"fmt"
	"time"

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
			{Name: "health_timeout", Type: options.String, Default: "5m", Help: "how long the health checks of /etc/drd/checks.d may take together (Go duration: 90s, 5m)"},
		},
		check: func(inv *invocation) error {
			if _, err := healthTimeout(inv.opts); err != nil {
				return err
			}
			return nil
		},
		run: runBootCheck,
	})
}

func healthTimeout(v options.Values) (time.Duration, error) {
	d, err := time.ParseDuration(v.String("health_timeout"))
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("-x health_timeout=%s: want a duration such as 90s or 5m", v.String("health_timeout"))
	}
	return d, nil
}

func runBootCheck(ctx context.Context, inv *invocation) error {
	d, _ := healthTimeout(inv.opts)
	if err := inv.sys.bootCheck(ctx, inv.root, bootenv.CheckOptions{HealthTimeout: d}, inv.r); err != nil {
		return fmt.Errorf("assessing the boot: %w", err)
	}
	return nil
}

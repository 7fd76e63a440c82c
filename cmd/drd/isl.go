package main

import (
	"context"
	"fmt"

	"github.com/drd-linux/drd/internal/options"
	"github.com/drd-linux/drd/isl"
)

func init() {
	register(&command{
		name:  "isl",
		usage: "STAGEISL, the recovery utility reachable from every image's boot menu (isl install)",
		subcommands: []*command{{
			name:    "isl install",
			usage:   "put STAGEISL (the booted kernel, the ISL initramfs, its modules) into every image's /boot and boot menu",
			what:    "Install STAGEISL",
			preview: true,
			locks:   true,
			options: islInstallSpecs,
			run:     runISLInstall,
		}},
	})
}

// islInstallSpecs are the extended options of drd isl install.
var islInstallSpecs = []options.Spec{
	{Name: "image", Type: options.String, Default: isl.DefaultImagePath, Help: "the ISL initramfs to install (make isl builds it as build/isl/drd-isl.img)"},
	efiVarsSpec,
}

func runISLInstall(ctx context.Context, inv *invocation) error {
	m, err := machine(inv)
	if err != nil {
		return fmt.Errorf("installing STAGEISL: %w", err)
	}
	opt := isl.InstallOptions{
		Machine: m,
		Image:   inv.opts.String("image"),
		Preview: inv.preview,
		Now:     inv.sys.now,
	}
	if err := inv.sys.islInstall(ctx, opt, inv.r); err != nil {
		return fmt.Errorf("installing STAGEISL: %w", err)
	}
	return nil
}

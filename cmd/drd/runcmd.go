package main

import (
	"context"
	"errors"
	"os"

	"github.com/drd-linux/drd/internal/options"
	"github.com/drd-linux/drd/runcmd"
)

func init() {
	register(&command{
		name:      "runcmd",
		usage:     "run a DRD-safe command (apt-get, dpkg, update-initramfs...) against the inactive system image",
		argsUsage: "COMMAND [ARGS...]",
		what:      "Run Command in Inactive System Image",
		maxArgs:   1 << 20,
		stopAtArg: true,
		locks:     true,
		options:   runcmdSpecs,
		check: func(inv *invocation) error {
			if len(inv.args) == 0 {
				return errors.New("no command: give the command to run, e.g. drd runcmd apt-get install -y PACKAGE")
			}
			return nil
		},
		run: runRuncmd,
	})
}

// runcmdSpecs are the extended options of drd runcmd.
var runcmdSpecs = []options.Spec{
	{Name: "image", Type: options.String, Help: "the inactive image to change (sysimage_001); empty: the only inactive image"},
	{Name: "bind", Type: options.List, Help: "a directory of the booted system shown read-only at the same path in the jail (a local repository); repeat for more"},
	{Name: "network", Type: options.Bool, Default: "true", Help: "share the booted system's network (apt needs it for remote repositories); false: no network in the jail"},
	{Name: "force_unsafe", Type: options.Bool, Default: "false", Help: "install packages that are not DRD-safe (X-DRD-Safe: no, or on /etc/drd/unsafe.list) anyway"},
}

func runRuncmd(ctx context.Context, inv *invocation) error {
	return inv.sys.runcmd(ctx, runcmdOptions(inv), inv.r)
}

// runcmdOptions turns a parsed command line into the options of runcmd.Run.
func runcmdOptions(inv *invocation) runcmd.Options {
	return runcmd.Options{
		Root:        inv.root,
		Image:       inv.opts.String("image"),
		Argv:        inv.args,
		Binds:       inv.opts.List("bind"),
		NoNetwork:   !inv.opts.Bool("network"),
		ForceUnsafe: inv.opts.Bool("force_unsafe"),
		Stdio:       runcmd.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr},
		Env:         os.Environ(),
	}
}

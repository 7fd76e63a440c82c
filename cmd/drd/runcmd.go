package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

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
			for _, d := range inv.opts.List("depot") {
				if !filepath.IsAbs(d) {
					return fmt.Errorf("-x depot=%s: give the directory as an absolute path, the path it has in the runcmd environment too", d)
				}
			}
			return nil
		},
		run: runRuncmd,
	})
}

// runcmdSpecs are the extended options of drd runcmd.
var runcmdSpecs = []options.Spec{
	{Name: "image", Type: options.String, Help: "the inactive image to change (sysimage_001); empty: the only inactive image"},
	{Name: "depot", Type: options.List, Help: "a directory of packages on the booted system, shown read-only at the same path in the runcmd environment (dpkg -i DIR/x.deb, a file: apt source); repeat for more"},
	{Name: "network", Type: options.String, Default: runcmd.NetworkOwn, Choices: []string{runcmd.NetworkOwn, runcmd.NetworkNone, runcmd.NetworkHost},
		Help: "true: a network of its own, out through slirp4netns, so apt reaches remote repositories but not the booted system's 127.0.0.1 services and abstract sockets; false: no network in the runcmd environment; host: the booted system's network, not isolated (warned)"},
	{Name: "allow_unsafe", Type: options.Bool, Default: "false", Help: "run a command, or install packages, that are not DRD-safe anyway (warned, exit code 2)"},
	{Name: "precheck_only", Type: options.Bool, Default: "false", Help: "find the packages the command installs or removes, judge them, print the report and stop: nothing is installed"},
	{Name: "report", Type: options.String, Default: "text", Help: "format of the DRD-safe report on standard output (precheck_only, refusals): text or json", Choices: []string{"text", "json"}},
	{Name: "name", Type: options.String, Help: "the change's name in the event log (default: the image's name)"},
	{Name: "note", Type: options.String, Help: "a note for the event log"},
}

func runRuncmd(ctx context.Context, inv *invocation) error {
	return inv.sys.runcmd(ctx, runcmdOptions(inv), inv.r)
}

// runcmdOptions turns a parsed command line into the options of runcmd.Run.
func runcmdOptions(inv *invocation) runcmd.Options {
	return runcmd.Options{
		Root:         inv.root,
		Image:        inv.opts.String("image"),
		Argv:         inv.args,
		Depots:       inv.opts.List("depot"),
		NoNetwork:    inv.opts.String("network") == runcmd.NetworkNone,
		HostNetwork:  inv.opts.String("network") == runcmd.NetworkHost,
		AllowUnsafe:  inv.opts.Bool("allow_unsafe"),
		PrecheckOnly: inv.opts.Bool("precheck_only"),
		ReportJSON:   inv.opts.String("report") == "json",
		Name:         inv.opts.String("name"),
		Note:         inv.opts.String("note"),
		User:         inv.sys.user,
		Stdio:        runcmd.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr},
		Env:          os.Environ(),
		Dir:          workingDir(),
		Now:          inv.sys.now,
	}
}

// workingDir is drd's working directory, "" if it is gone: relative paths
// of the command are checked against it.
func workingDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	return dir
}

package main

import (
	"context"
	"fmt"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/clone/imagesync"
	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/options"
)

func init() {
	register(&command{
		name:      "activate",
		usage:     "make an image the boot target: for every boot, or on trial for the next boots only",
		argsUsage: "[IMAGE]",
		what:      "Activate System Image",
		maxArgs:   1,
		preview:   true,
		locks:     true,
		options:   activateSpecs,
		run:       runActivate,
	})
}

// activateSpecs are the extended options of drd activate.
var activateSpecs = []options.Spec{
	{Name: "trial", Type: options.Bool, Default: "false", Help: "boot the image on trial: the next boots only, counted; it becomes the boot target once its health checks pass"},
	{Name: "tries", Type: options.Int, Default: "2", Help: "trial boots before GRUB returns to the booted image (1 to 9)", Min: 1, Max: bootenv.MaxTries},
	{Name: "force", Type: options.Bool, Default: "false", Help: "activate an image that failed its trial boot"},
	{Name: "reboot", Type: options.String, Default: "false", Choices: []string{"false", "true", "firmware", "kexec", "soft", "auto"},
		Help: "reboot into the target when done: firmware (= true), kexec, soft (systemd soft-reboot) or auto, the fastest safe one (docs/boot.md)"},
	{Name: "watchdog", Type: options.Int, Default: "900", Help: "a trial (GRUB's, kexec or soft reboot) arms the kernel's softdog for this many seconds, until its boot check passes: a trial that hangs resets into the booted image (0: none; docs/boot.md)", Min: 0, Max: 65535},
	{Name: "sync", Type: options.String, Default: "false", Choices: []string{"false", "true", "shutdown"}, Help: "true: first bring the booted image's changes since the clone into the image (drd sync); a failed sync stops the activation, conflicts are warned of (exit code 2); shutdown: that too, and a final sync during the shutdown of the reboot, after the services stopped (a failed one calls the switch off)"},
	efiVarsSpec,
}

func runActivate(ctx context.Context, inv *invocation) error {
	name := imageArg(inv.args)
	sw, err := bootenv.ParseSwitch(inv.opts.String("reboot"))
	if err != nil {
		return err
	}
	opt := bootenv.ActivateOptions{
		Image: name, Trial: inv.opts.Bool("trial"), Tries: int(inv.opts.Int("tries")),
		Force: inv.opts.Bool("force"), Preview: inv.preview,
		Reboot: sw, Switcher: inv.sys.switcher, Watchdog: int(inv.opts.Int("watchdog")),
		ArmWatchdog: armSoftdog(execrun.Real{}, "/sys", "/dev"), StopWatchdog: stopWatchdog("/dev"),
	}
	if err := shutdownSyncSwitch(inv.opts.String("sync"), sw, opt.Trial); err != nil {
		return fmt.Errorf("activating %s: %w", imageWord(name), err)
	}
	m, err := machine(inv)
	if err != nil {
		return fmt.Errorf("activating %s: %w", imageWord(name), err)
	}
	if s := inv.opts.String("sync"); s == "true" || s == "shutdown" {
		inv.r.Step("Syncing the booted image's changes into %s first (-x sync=true)", imageWord(name))
		res, err := inv.sys.sync(ctx, imagesync.Options{
			Machine: bootenv.Real(inv.root), Image: name, Preview: inv.preview, Logf: inv.r.Note,
		}, inv.r)
		if err != nil {
			return fmt.Errorf("activating %s: the sync before it failed, nothing was switched: %w", imageWord(name), err)
		}
		if name == "" {
			name = res.Image // activate the image synced, whatever else changes
		}
		if err := reportSyncSummary(inv, res); err != nil {
			return err
		}
		opt.Image = name
	}
	if inv.opts.String("sync") == "shutdown" && !inv.preview {
		// Armed before the activation: with -x reboot= it restarts the
		// machine itself. Its stop syncs only into the activated image.
		if err := armShutdownSync(ctx, inv, name); err != nil {
			return fmt.Errorf("activating %s: nothing was switched: %w", imageWord(name), err)
		}
	}
	if err := inv.sys.activate(ctx, m, opt, inv.r); err != nil {
		return fmt.Errorf("activating %s: %w", imageWord(name), err)
	}
	return nil
}

// maybeReboot reboots when -x reboot=true asks for it (drd deactivate;
// drd activate reboots by the switch -x reboot= chooses).
func maybeReboot(ctx context.Context, inv *invocation) error {
	if sw, err := bootenv.ParseSwitch(inv.opts.String("reboot")); err != nil || sw == bootenv.SwitchNone || inv.preview {
		return err
	}
	inv.r.Step("Rebooting")
	if err := inv.sys.reboot(ctx); err != nil {
		return fmt.Errorf("rebooting: %w", err)
	}
	return nil
}

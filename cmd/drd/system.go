package main

import (
	"context"
	"os"
	"os/user"
	"strconv"
	"time"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/bootenv/efi"
	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/clone/imagesync"
	"github.com/drd-linux/drd/images/artifact"
	"github.com/drd-linux/drd/internal/console"
	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/isl"
	"github.com/drd-linux/drd/runcmd"
)

// system is everything the commands reach outside cmd/drd: the engines
// and the facts about the caller. Tests replace it with fakes.
type system struct {
	clone func(ctx context.Context, opt clone.Options, r report.Reporter) error
	// export writes an inactive image as an artifact; imprt makes a new
	// image from one.
	export func(ctx context.Context, opt clone.ExportOptions, r report.Reporter) (*artifact.Manifest, error)
	imprt  func(ctx context.Context, opt clone.Options, src clone.ImportSource, r report.Reporter) error
	scan   func(ctx context.Context, root string) (*bootenv.Status, error)
	mount  func(ctx context.Context, root, name string, r report.Reporter) (string, error)
	umount func(ctx context.Context, root, name string, r report.Reporter) error
	// withImage gives fn an image's root: the booted one (name ""), or an
	// inactive one, mounted for fn (read-only unless writable) if it was not.
	withImage func(ctx context.Context, root, name string, writable bool, r report.Reporter, fn func(dir string, img *bootenv.Image) error) error
	// activate switches the boot target (also deactivate); bootCheck is
	// the boot-time pass; reboot restarts the machine.
	activate  func(ctx context.Context, m bootenv.Machine, opt bootenv.ActivateOptions, r report.Reporter) error
	bootCheck func(ctx context.Context, m bootenv.Machine, opt bootenv.CheckOptions, r report.Reporter) error
	reboot    func(ctx context.Context) error
	// switcher restarts into an image by firmware, kexec or soft-reboot.
	switcher bootenv.Switcher
	// systemctl runs systemctl (the unit of -x sync=shutdown).
	systemctl func(ctx context.Context, args ...string) error
	// checkInit makes sure an image has an init to boot (the final
	// sync checks what it synced).
	checkInit func(m bootenv.Machine, img *bootenv.Image) error
	// kexecUnload unloads a kernel loaded for a kexec (a failed final
	// sync calls off a kexec switch).
	kexecUnload func() error
	runcmd      func(ctx context.Context, opt runcmd.Options, r report.Reporter) error
	// sync brings the booted image's changes into an inactive image.
	sync func(ctx context.Context, opt imagesync.Options, r report.Reporter) (*imagesync.Result, error)
	// commit makes the booted image the base and retires the others.
	commit func(ctx context.Context, root string, opt bootenv.CommitOptions, r report.Reporter) (bootenv.CommitPlan, error)
	// delete removes an inactive image (also drd forget).
	delete func(ctx context.Context, root string, opt bootenv.DeleteOptions, r report.Reporter) error
	// islInstall puts STAGEISL into every image's /boot and menu.
	islInstall func(ctx context.Context, opt isl.InstallOptions, r report.Reporter) error
	// hostEFI opens this machine's UEFI variables (efivarfs): the one
	// way to the real firmware (firmwareVars decides when).
	hostEFI func() (efi.Vars, error)

	now      func() time.Time
	loc      *time.Location // for the dates drd status prints
	user     string         // who runs drd, for the banner and the lock
	uid      int            // its effective uid: commands that change the system need 0
	pid      int
	terminal bool // stderr is a terminal: progress is redrawn in place
}

func realSystem() system {
	return system{
		clone:     clone.Run,
		export:    clone.Export,
		imprt:     clone.Import,
		scan:      bootenv.Scan,
		mount:     bootenv.Mount,
		umount:    bootenv.Umount,
		withImage: bootenv.WithImage,
		activate:  activateOn,
		bootCheck: bootCheckOn,
		reboot: func(ctx context.Context) error {
			_, err := execrun.Real{}.Run(ctx, "systemctl", "reboot")
			return err
		},
		kexecUnload: unloadKexec,
		checkInit:   bootenv.Machine.CheckInit,
		systemctl: func(ctx context.Context, args ...string) error {
			_, err := execrun.Real{}.Run(ctx, "systemctl", args...)
			return err
		},
		runcmd: runcmd.Run,
		sync:   imagesync.Run,
		delete: bootenv.Delete,
		commit: func(ctx context.Context, root string, opt bootenv.CommitOptions, r report.Reporter) (bootenv.CommitPlan, error) {
			return bootenv.Real(root).Commit(ctx, opt, r)
		},
		switcher:   realSwitcher{run: execrun.Real{}},
		islInstall: isl.Install,
		hostEFI:    openHostEFI,
		now:        time.Now,
		loc:        time.Local,
		user:       userName(),
		uid:        os.Geteuid(),
		pid:        os.Getpid(),
		terminal:   console.IsTerminal(os.Stderr),
	}
}

// userName is the login name of the caller, or its uid if it has none.
func userName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return strconv.Itoa(os.Getuid())
}

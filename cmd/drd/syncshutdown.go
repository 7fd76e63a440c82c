package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/clone/imagesync"
	"github.com/drd-linux/drd/internal/options"
)

// The final sync of -x sync=shutdown: a unit started at activation whose
// stop, during the shutdown of the reboot (after the services, before the
// file systems are unmounted: ordered like OSTree's finalize-staged unit),
// runs drd sync-at-shutdown IMAGE. It lives in /run: the reboot removes it.
const (
	shutdownUnit    = "drd-sync-at-shutdown.service"
	shutdownUnitDir = "/run/systemd/system"
)

func init() {
	register(&command{
		name:      "sync-at-shutdown",
		usage:     "the final sync of drd activate -x sync=shutdown (run by " + shutdownUnit + " as the system shuts down)",
		argsUsage: "IMAGE",
		what:      "Synchronize Inactive System Image at Shutdown",
		maxArgs:   1,
		hidden:    true,
		locks:     true,
		options:   []options.Spec{efiVarsSpec},
		run:       runSyncAtShutdown,
	})
}

// shutdownUnitText is the unit of the final sync into image, run by exe.
func shutdownUnitText(exe, image string) string {
	return fmt.Sprintf(`# Written by drd activate -x sync=shutdown: the final sync into %[2]s
# during the shutdown of the reboot. Stopping it runs the sync; a failed
# sync calls the switch off (the booted image boots again).
[Unit]
Description=drd: final sync of the booted image into %[2]s at shutdown
DefaultDependencies=no
RequiresMountsFor=/var/opt/drd
After=local-fs.target systemd-journal-flush.service
Before=basic.target final.target
Conflicts=final.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
ExecStop=%[1]s sync-at-shutdown %[2]s
TimeoutStopSec=30min
`, exe, image)
}

// shutdownSyncSwitch says whether -x sync=shutdown goes with the switch:
// the final sync runs in the shutdown transaction of systemctl reboot
// and of systemctl kexec alike, and a failed one calls a kexec off by
// unloading its kernel (the firmware reboot that follows boots the
// booted image). Not yet: a kexec trial (it keeps the boot target and
// marks the image on trial, which calling off would have to undo) and a
// soft-reboot (drd prepares no /run/nextroot yet).
func shutdownSyncSwitch(sync string, sw bootenv.Switch, trial bool) error {
	if sync != "shutdown" {
		return nil
	}
	switch {
	case sw == bootenv.SwitchSoft:
		return fmt.Errorf("-x sync=shutdown with -x reboot=soft: drd does not soft-reboot yet; use -x reboot=true or kexec")
	case trial && (sw == bootenv.SwitchKexec || sw == bootenv.SwitchAuto):
		return fmt.Errorf("-x sync=shutdown with -x trial=true and -x reboot=%s: calling off a kexec trial whose final sync failed is not written yet; "+
			"use -x reboot=true for a trial, or a lasting switch (no -x trial=true) by kexec", sw)
	}
	return nil
}

// unloadKexec unloads the kernel loaded for a kexec, if any: systemd's
// shutdown then reboots by the firmware. A kernel without
// kexec_file_load can have nothing loaded by drd.
func unloadKexec() error {
	err := unix.KexecFileLoad(-1, -1, "", unix.KEXEC_FILE_UNLOAD)
	if err == nil || errors.Is(err, unix.ENOSYS) {
		return nil
	}
	return fmt.Errorf("unloading the kexec kernel (kexec_file_load KEXEC_FILE_UNLOAD): %w", err)
}

// armShutdownSync writes and starts the unit for image.
func armShutdownSync(ctx context.Context, inv *invocation, image string) error {
	if image == "" || strings.ContainsAny(image, " \t\n%\\\"'$;") {
		return fmt.Errorf("-x sync=shutdown: no usable image name %q", image)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("-x sync=shutdown: finding drd's executable: %w", err)
	}
	dir := filepath.Join(inv.root, shutdownUnitDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("-x sync=shutdown: %w", err)
	}
	if err := bootenv.WriteFileAtomic(filepath.Join(dir, shutdownUnit), []byte(shutdownUnitText(exe, image)), 0o644); err != nil {
		return fmt.Errorf("-x sync=shutdown: writing %s: %w", shutdownUnit, err)
	}
	for _, args := range [][]string{{"daemon-reload"}, {"restart", shutdownUnit}} {
		if err := inv.sys.systemctl(ctx, args...); err != nil {
			return fmt.Errorf("-x sync=shutdown: starting %s: %w", shutdownUnit, err)
		}
	}
	inv.r.Note("%s started: its stop syncs into %s as the system shuts down", shutdownUnit, image)
	return nil
}

// runSyncAtShutdown syncs into the image still activated; when the sync
// fails the switch is called off and the booted image's history says why.
func runSyncAtShutdown(ctx context.Context, inv *invocation) error {
	name := imageArg(inv.args)
	st, err := inv.sys.scan(ctx, inv.root)
	if err != nil {
		return fmt.Errorf("the final sync into %s: %w", name, err)
	}
	if st == nil || st.Activated != name {
		inv.r.Note("%s is not the activated image any more: no sync", name)
		return nil
	}
	res, err := inv.sys.sync(ctx, imagesync.Options{Machine: bootenv.Real(inv.root), Image: name, Logf: inv.r.Note, Status: st}, inv.r)
	if err == nil {
		err = checkSyncedInit(inv, st, name)
	}
	if err == nil {
		return reportSyncSummary(inv, res)
	}
	// First the kexec, if one is loaded: systemd's shutdown would boot
	// it whatever the boot target says; then the boot target.
	var errs []error
	if uerr := inv.sys.kexecUnload(); uerr != nil {
		errs = append(errs, fmt.Errorf("%w: the machine may still kexec into %s", uerr, name))
	}
	m, merr := machine(inv)
	if merr == nil {
		merr = inv.sys.activate(ctx, m, bootenv.ActivateOptions{Deactivate: true}, inv.r)
	}
	if merr != nil {
		errs = append(errs, fmt.Errorf("%w; run drd deactivate", merr))
	}
	why := fmt.Sprintf("the final sync into %s failed (%v): the switch was called off, the booted image boots again", name, err)
	if len(errs) > 0 {
		why = fmt.Sprintf("the final sync into %s failed (%v), and calling the switch off failed too: %v", name, err, errors.Join(errs...))
	}
	if rec, rerr := bootenv.ReadRecord(inv.root); rerr == nil {
		rec.AddEvent("sync", "failed", why)
		if werr := bootenv.WriteRecord(inv.root, rec); werr != nil {
			inv.r.Warn("recording it: %v", werr)
		}
	}
	return fmt.Errorf("%s", why)
}

// checkSyncedInit checks, after the final sync, that the image still has
// an init to boot (the sync brought the booted image's changes, a
// removed /sbin/init among them): a switch into an image without one
// would stop at a shell on the console (docs/boot.md).
func checkSyncedInit(inv *invocation, st *bootenv.Status, name string) error {
	for _, img := range st.Images {
		if img.Name != name {
			continue
		}
		m, err := machine(inv)
		if err == nil {
			err = inv.sys.checkInit(m, img)
		}
		if err != nil {
			return fmt.Errorf("after the sync: %w", err)
		}
		return nil
	}
	return fmt.Errorf("after the sync: %s is no image found any more", name)
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
	res, err := inv.sys.sync(ctx, imagesync.Options{Machine: bootenv.Real(inv.root), Image: name, Logf: inv.r.Note}, inv.r)
	if err == nil {
		return reportSyncSummary(inv, res)
	}
	m, merr := machine(inv)
	if merr == nil {
		merr = inv.sys.activate(ctx, m, bootenv.ActivateOptions{Deactivate: true}, inv.r)
	}
	why := fmt.Sprintf("the final sync into %s failed (%v): the switch was called off, the booted image boots again", name, err)
	if rec, rerr := bootenv.ReadRecord(inv.root); rerr == nil {
		rec.AddEvent("sync", "failed", why)
		if werr := bootenv.WriteRecord(inv.root, rec); werr != nil {
			inv.r.Warn("recording it: %v", werr)
		}
	}
	if merr != nil {
		return fmt.Errorf("the final sync into %s failed (%v), and calling the switch off failed too: %w; run drd deactivate", name, err, merr)
	}
	return fmt.Errorf("%s", why)
}

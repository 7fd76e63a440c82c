package bootenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The watchdog of a trial boot. A trial that hangs after the kernel took
// over (a unit that never finishes, a deadlocked service) never reaches
// the boot check and never panics, so panic= alone leaves it hanging
// until someone power-cycles the machine. A trial therefore arms the
// kernel's software watchdog (softdog) from its own command line:
//
//	modules_load=softdog softdog.soft_active_on_boot=1 softdog.soft_margin=N
//
// systemd-modules-load loads softdog early in the boot (sysinit), the
// module starts counting at once (soft_active_on_boot) and resets the
// machine by the firmware N seconds later unless the boot check stops
// it (DisarmTrialWatchdog) after the trial passed. Nothing is written
// into the image and nothing outlives the trial: the next boot's command
// line is GRUB's, without these arguments. docs/boot.md says why softdog
// and not a hardware watchdog or systemd's RuntimeWatchdogSec.

// DefaultWatchdogSeconds is the trial watchdog's deadline: from the
// module's load (early in the trial's boot) to the end of the boot
// check, which includes the health checks (DefaultHealthTimeout).
const DefaultWatchdogSeconds = 900

// MinWatchdogSeconds is the shortest deadline drd arms: a boot must fit.
const MinWatchdogSeconds = 60

// softdogIdentity is what softdog calls itself in
// /sys/class/watchdog/watchdogN/identity.
const softdogIdentity = "Software Watchdog"

// trialWatchdogArmArg is the argument of TrialWatchdogArgs that arms
// softdog at its load: the mark of every boot that carries the trial
// watchdog (GRUB's trials and kexec trials).
const trialWatchdogArmArg = "softdog.soft_active_on_boot=1"

// TrialWatchdogArgs are the kernel arguments that arm softdog for
// seconds ("" for 0: no watchdog), or an error for a deadline too short
// for a boot.
func TrialWatchdogArgs(seconds int) (string, error) {
	if err := checkWatchdogSeconds(seconds); err != nil || seconds == 0 {
		return "", err
	}
	return fmt.Sprintf("modules_load=softdog %s softdog.soft_margin=%d", trialWatchdogArmArg, seconds), nil
}

// checkWatchdogSeconds refuses a trial watchdog's deadline that is
// neither 0 (none) nor long enough for a boot (nor fits softdog's).
func checkWatchdogSeconds(seconds int) error {
	if seconds != 0 && (seconds < MinWatchdogSeconds || seconds > 65535) {
		return fmt.Errorf("watchdog=%d: want 0 (none) or %d to 65535 seconds, more than a boot and its health checks take", seconds, MinWatchdogSeconds)
	}
	return nil
}

// watchdogArmedBy reports whether a kernel command line armed softdog
// at load (the trial watchdog drd's arguments ask for).
func watchdogArmedBy(cmdline string) bool {
	for _, a := range strings.Fields(cmdline) {
		if k, v, ok := strings.Cut(a, "="); ok && k == "softdog.soft_active_on_boot" && (v == "1" || v == "Y" || v == "y") {
			return true
		}
	}
	return false
}

// isTrialWatchdogArg reports whether a is one of TrialWatchdogArgs'
// arguments.
func isTrialWatchdogArg(a string) bool {
	k, _, _ := strings.Cut(a, "=")
	return a == "modules_load=softdog" || k == "softdog.soft_active_on_boot" || k == "softdog.soft_margin"
}

// SoftdogDevice is the /dev name (watchdog1) of the loaded softdog, read
// from sysDir/class/watchdog/*/identity; "" when softdog is not loaded.
func SoftdogDevice(sysDir string) (string, error) {
	dir := filepath.Join(sysDir, "class", "watchdog")
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("listing the watchdogs: %w", err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	for _, e := range ents {
		id, err := os.ReadFile(filepath.Join(dir, e.Name(), "identity"))
		if err == nil && strings.TrimSpace(string(id)) == softdogIdentity && strings.HasPrefix(e.Name(), "watchdog") {
			return e.Name(), nil
		}
	}
	return "", nil
}

// WatchdogStopper stops a watchdog device by its magic close (opens
// /dev/NAME, writes 'V', closes): cmd/drd wires the real one.
type WatchdogStopper func(name string) error

// WatchdogArmer loads softdog if need be and starts it for seconds on
// the running kernel (open, set the timeout, close without the magic
// character): what a soft-reboot trial gets, whose kernel stays.
// cmd/drd wires the real one.
type WatchdogArmer func(seconds int) error

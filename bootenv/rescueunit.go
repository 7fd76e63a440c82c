package bootenv

import (
	"fmt"
	"os"
	"path/filepath"
)

// A trial boot that stops in systemd's emergency or rescue mode (a disk
// that never shows up, a failed fsck) is not hung for the watchdog's
// sake: PID 1 runs, and softdog would end it only at its deadline (900 s
// by default). A unit pulled in by emergency.target and rescue.target
// ends it sooner, during a trial only: it says on the console why, waits
// RescueGraceSeconds (a person at the console can stop it) and reboots
// by the firmware, which never boots a failed trial again: a kexec or
// soft-reboot trial changed no persistent target, and GRUB's trial
// counted its try before it booted (docs/boot.md).
const (
	RescueUnitName         = "drd-trial-rescue.service"
	PackagedRescueUnitPath = "/usr/lib/systemd/system/" + RescueUnitName
	// RescueGraceSeconds is how long the unit waits before it reboots.
	RescueGraceSeconds = 30
)

// rescueWantedBy are the targets that pull the unit in.
var rescueWantedBy = []string{"emergency.target", "rescue.target"}

// rescueCloneMark is the first line of the unit drd clone writes: the
// package's postinst removes such a unit when it installs its own.
const rescueCloneMark = "# drd: a trial boot in emergency or rescue mode reboots (docs/boot.md). Written by drd clone."

// trialConditions are the unit's conditions, any of which makes a boot
// a trial: a kexec trial's marker (TrialArg) on the command line, the
// trial watchdog every GRUB trial (and a kexec trial with a watchdog)
// arms from it (TrialWatchdogArgs), and a soft-reboot trial's marker in
// /run (SoftTrialPath).
func trialConditions() string {
	return "ConditionKernelCommandLine=|" + TrialArg + "\n" +
		"ConditionKernelCommandLine=|" + trialWatchdogArmArg + "\n" +
		"ConditionPathExists=|" + SoftTrialPath + "\n"
}

// RescueUnitText is the unit drd clone writes into an image without
// drd's package.
func RescueUnitText() string { return rescueUnitText(rescueCloneMark) }

// PackagedRescueUnitText is the unit drd's package installs as
// PackagedRescueUnitPath.
func PackagedRescueUnitText() string {
	return rescueUnitText("# drd: a trial boot in emergency or rescue mode reboots (docs/boot.md). Installed by the drd package.")
}

func rescueUnitText(mark string) string {
	say := fmt.Sprintf("drd: this trial boot stopped in emergency or rescue mode; rebooting in %d s into the last good image "+
		"(to stay and look: systemctl stop %s)", RescueGraceSeconds, RescueUnitName)
	return mark + `
[Unit]
Description=drd: reboot a trial boot that stopped in emergency or rescue mode
Documentation=man:drd-boot-check(8)
DefaultDependencies=no
` + trialConditions() + `
[Service]
Type=simple
StandardOutput=journal+console
StandardError=journal+console
ExecStart=/bin/sh -c 'echo "` + say + `"; sleep ` + fmt.Sprint(RescueGraceSeconds) + ` && exec systemctl --no-block reboot'

[Install]
WantedBy=` + rescueWantedBy[0] + " " + rescueWantedBy[1] + `
`
}

// InstallRescueUnit writes the unit into the image whose root is at root
// and enables it (the links systemctl enable makes).
func InstallRescueUnit(root string) error {
	p := filepath.Join(root, unitDir, RescueUnitName)
	if _, err := writeIfChanged(p, []byte(RescueUnitText()), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	for _, t := range rescueWantedBy {
		if err := enableLink(root, t, RescueUnitName); err != nil {
			return err
		}
	}
	return nil
}

// enableLink makes root's /etc/systemd/system/TARGET.wants/UNIT, a
// relative link to the unit beside the .wants directory.
func enableLink(root, target, unit string) error {
	wants := filepath.Join(root, unitDir, target+".wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		return fmt.Errorf("enabling %s in %s: %w", unit, root, err)
	}
	link := filepath.Join(wants, unit)
	to := "../" + unit // relative: right wherever the image is mounted
	if t, err := os.Readlink(link); err == nil && t == to {
		return nil
	}
	os.Remove(link)
	if err := os.Symlink(to, link); err != nil {
		return fmt.Errorf("enabling %s in %s: %w", unit, root, err)
	}
	return nil
}

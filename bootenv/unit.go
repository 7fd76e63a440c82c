package bootenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The boot-time pass as a systemd unit, in every image: after the boot is
// complete (boot-complete.target, after multi-user.target), drd boot-check
// records what booted and judges a trial boot. It is part of the start-up,
// so systemctl is-system-running --wait also waits for the verdict.
const (
	UnitName = "drd-boot-check.service"
	unitDir  = "/etc/systemd/system"
)

// DrdPath is where the boot-time pass finds drd in every image. drd clone
// copies the drd that runs it there (InstallDrd): the unit must not name
// the binary that happened to run the clone (a build directory, a home).
// Not /usr/local/sbin/drd: that is the administrator's own place, where a
// drd of another version may be installed by hand, and drd must not
// overwrite it; /usr/lib/drd is drd's own directory, off PATH (nobody
// runs this copy by mistake), and where a drd package will put it too.
const DrdPath = "/usr/lib/drd/drd"

// Where drd's package (make deb, packaging/) puts drd and the unit. In an
// image with the package, the packaged unit runs the packaged drd, and
// drd clone writes neither a unit nor a copy of itself there (Packaged):
// dpkg keeps them, and an upgrade of the package is what the boot check
// runs next (docs/boot.md).
const (
	PackagedDrdPath  = "/usr/sbin/drd"
	PackagedUnitPath = "/usr/lib/systemd/system/" + UnitName
)

// cloneMark is the first line of the unit drd clone writes: the package's
// scripts remove such a unit (and its /usr/lib/drd/drd) when they install
// theirs, and leave any other alone.
const cloneMark = "# drd: the boot-time pass (docs/boot.md). Written by drd clone."

// Packaged tells whether drd's package is installed in the image whose
// root is root: its unit is there (dpkg -r removes it).
func Packaged(root string) bool {
	_, err := os.Stat(filepath.Join(root, PackagedUnitPath))
	return err == nil
}

// UnitText is the unit that runs drd (at drdPath in the image) at boot.
// A missing drd is no reason to skip the pass in silence (a trial would
// never become good and nobody would know): the unit fails, and says why
// on the console and in the journal.
func UnitText(drdPath string) string {
	return unitText(drdPath+" boot-check", cloneMark, "run drd clone again, or copy drd to "+drdPath)
}

// PackagedUnitText is the unit drd's package installs as PackagedUnitPath.
// The package is installed before any clone: until drd clone has written
// this image's record there is nothing to assess, and drd boot-check
// -x managed_only=true says so and exits 0 rather than write drd's boot
// files into a system drd does not manage yet. (Not a
// ConditionPathExists= on RecordPath: with /var on a file system of its
// own the record lives beneath /var's mount point, on the root file
// system, where no path shows it once /var is mounted; see onRootFS.)
func PackagedUnitText() string {
	return unitText(PackagedDrdPath+" boot-check -x managed_only=true", "# drd: the boot-time pass (docs/boot.md). Installed by the drd package.",
		"reinstall the drd package (apt install --reinstall drd)")
}

func unitText(command, mark, fix string) string {
	drdPath, _, _ := strings.Cut(command, " ")
	return mark + `
[Unit]
Description=drd boot assessment: record the booted system image, judge a trial boot
Documentation=man:drd-boot-check(8)
Wants=boot-complete.target
After=boot-complete.target multi-user.target local-fs.target

[Service]
Type=oneshot
StandardOutput=journal+console
StandardError=journal+console
ExecStartPre=/bin/sh -c 'test -x ` + drdPath + ` || { echo "drd-boot-check: ` + drdPath + ` is missing: the boot check cannot run, a trial boot will not be confirmed (it falls back at the next reboot); ` + fix + `" >&2; exit 1; }'
ExecStart=` + command + `
RemainAfterExit=yes
TimeoutStartSec=30min

[Install]
WantedBy=multi-user.target
`
}

// InstallDrd copies drd's executable exe (the running one) to DrdPath in
// the image whose root is root, atomically, unless it is there already.
func InstallDrd(root, exe string) error {
	p := filepath.Join(root, DrdPath)
	if exe == "" {
		return fmt.Errorf("installing drd for the boot check as %s: drd's own executable is unknown", p)
	}
	if same(exe, p) {
		return nil
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		return fmt.Errorf("reading drd's executable for the boot check: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("installing drd for the boot check: %w", err)
	}
	if _, err := writeIfChanged(p, data, 0o755); err != nil {
		return fmt.Errorf("installing drd for the boot check as %s: %w", p, err)
	}
	return nil
}

// same tells whether a and b are one file.
func same(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// InstallUnit writes the unit into the image whose root is at root and
// enables it (the symlink systemctl enable makes).
func InstallUnit(root, drdPath string) error {
	p := filepath.Join(root, unitDir, UnitName)
	if _, err := writeIfChanged(p, []byte(UnitText(drdPath)), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return enableLink(root, "multi-user.target", UnitName)
}

// InstallBootCheck gives the image whose root is root the boot-time pass:
// drd's executable exe copied to DrdPath and the unit that runs it,
// enabled, and the unit that reboots a trial stopped in emergency or
// rescue mode (RescueUnitName), enabled. An image with drd's package has
// the package's units, which run the package's drd: nothing is written
// there (docs/boot.md).
func InstallBootCheck(root, exe string) error {
	if Packaged(root) {
		return nil
	}
	if err := InstallDrd(root, exe); err != nil {
		return err
	}
	if err := InstallUnit(root, DrdPath); err != nil {
		return err
	}
	return InstallRescueUnit(root)
}

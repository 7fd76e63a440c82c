package bootenv

import (
	"fmt"
	"os"
	"path/filepath"
)

// The boot-time pass as a systemd unit, in every image: after the boot is
// complete (boot-complete.target, after multi-user.target), drd boot-check
// records what booted and judges a trial boot. It is part of the start-up,
// so systemctl is-system-running --wait also waits for the verdict.
const (
	UnitName = "drd-boot-check.service"
	unitDir  = "/etc/systemd/system"
)

// UnitText is the unit that runs drd (installed at drdPath) at boot.
func UnitText(drdPath string) string {
	return `# drd: the boot-time pass (docs/boot.md). Written by drd clone / activate.
[Unit]
Description=drd boot assessment: record the booted system image, judge a trial boot
Wants=boot-complete.target
After=boot-complete.target multi-user.target local-fs.target
ConditionPathExists=` + drdPath + `

[Service]
Type=oneshot
ExecStart=` + drdPath + ` boot-check
RemainAfterExit=yes
TimeoutStartSec=30min

[Install]
WantedBy=multi-user.target
`
}

// InstallUnit writes the unit into the image whose root is at root and
// enables it (the symlink systemctl enable makes).
func InstallUnit(root, drdPath string) error {
	p := filepath.Join(root, unitDir, UnitName)
	if _, err := writeIfChanged(p, []byte(UnitText(drdPath)), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	wants := filepath.Join(root, unitDir, "multi-user.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		return err
	}
	link := filepath.Join(wants, UnitName)
	target := "../" + UnitName // relative: right wherever the image is mounted
	if t, err := os.Readlink(link); err == nil && t == target {
		return nil
	}
	os.Remove(link)
	if err := os.Symlink(target, link); err != nil {
		return fmt.Errorf("enabling %s in %s: %w", UnitName, root, err)
	}
	return nil
}

// DrdPath is where drd is installed: the running executable, as the
// image sees it.
func DrdPath() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "/usr/local/sbin/drd"
}

package bootenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/drd-linux/drd/internal/report"
)

// A soft reboot (systemctl soft-reboot, systemd >= 254) stops every unit,
// then systemd switches root into /run/nextroot when a root is mounted
// there, and starts the new root's systemd on the same kernel. drd
// prepares that root: the image's critical file systems mounted at
// /run/nextroot, parents first (its /boot, /boot/efi, /var with it);
// the shared ones (/home, data) the new systemd mounts from the image's
// fstab, as at any boot. The kernel, its command line, its modules and
// /run survive; so a soft-reboot trial is marked by a file in /run
// (SoftTrialPath), which the boot check reads and removes, and which any
// firmware or kexec reboot empties.

// NextRootDir is where systemd's soft-reboot finds the root it switches to.
const NextRootDir = "/run/nextroot"

// SoftTrialPath marks a soft-reboot trial: the name of the image on trial.
const SoftTrialPath = "/run/drd/soft-trial"

// nextRootRefusal is why drd cannot prepare m.Root/run/nextroot ("" when
// it can): something is mounted there, or it is a non-empty directory,
// which systemd would take for the next root.
func (m Machine) nextRootRefusal(mounts []MountInfo) string {
	dir := filepath.Join(m.Root, NextRootDir)
	if under := MountsUnder(mounts, dir); len(under) > 0 {
		return fmt.Sprintf("%s is in use (%d file systems mounted there): unmount them", dir, len(under))
	}
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return ""
	case err != nil:
		return fmt.Sprintf("%s: %v", dir, err)
	case len(ents) > 0:
		return fmt.Sprintf("%s is not empty: remove what is in it", dir)
	}
	return ""
}

// prepareSoft mounts target's critical file systems at /run/nextroot
// and, for a trial, writes SoftTrialPath; the returned undo unmounts
// them and removes the marker, for an activation that stops before the
// soft reboot.
func (m Machine) prepareSoft(ctx context.Context, target *Image, trial, watchdog bool, r report.Reporter) (undo func(), err error) {
	mounts, err := ReadMountinfo(m.ProcDir)
	if err != nil {
		return nil, err
	}
	if why := m.nextRootRefusal(mounts); why != "" {
		return nil, fmt.Errorf("preparing the soft reboot into %s: %s", target.Name, why)
	}
	dir := filepath.Join(m.Root, NextRootDir)
	if _, err := m.mountImageAt(ctx, target, dir, false, r); err != nil {
		return nil, fmt.Errorf("preparing the soft reboot into %s at %s: %w", target.Name, dir, err)
	}
	marker := filepath.Join(m.Root, SoftTrialPath)
	undo = func() {
		os.Remove(marker)
		mounts, err := ReadMountinfo(m.ProcDir)
		if err == nil {
			err = m.umountAt(context.WithoutCancel(ctx), target.Name, dir, mounts, r)
		}
		if err != nil {
			r.Warn("the soft reboot did not happen, and %s stays mounted at %s: %v; unmount it (umount -R %s)", target.Name, dir, err, dir)
		}
	}
	if trial {
		content := target.Name + "\n"
		if watchdog {
			content += softWatchdogLine + "\n"
		}
		err := os.MkdirAll(filepath.Dir(marker), 0o755)
		if err == nil {
			err = os.WriteFile(marker, []byte(content), 0o644)
		}
		if err != nil {
			undo()
			return nil, fmt.Errorf("marking the soft-reboot trial of %s in %s: %w", target.Name, marker, err)
		}
	}
	r.Step("%s is ready at %s for systemd's soft-reboot", target.Name, dir)
	return undo, nil
}

// softWatchdogLine, a line of the trial marker, says drd armed softdog
// before the soft reboot (the kernel stays, and so does softdog).
const softWatchdogLine = "watchdog"

// takeSoftTrial reads and removes the soft-reboot trial marker: the
// image it names ("" for none or a malformed one) and whether drd armed
// softdog for it. Removed at once, so a later soft reboot of the same
// image is no trial.
func (m Machine) takeSoftTrial() (string, bool) {
	p := filepath.Join(m.Root, SoftTrialPath)
	b, err := os.ReadFile(p)
	if err != nil {
		return "", false
	}
	os.Remove(p)
	name := TrialFromMarker(string(b))
	_, rest, _ := strings.Cut(string(b), "\n")
	return name, name != "" && strings.TrimSpace(rest) == softWatchdogLine
}

// TrialFromMarker is the image a SoftTrialPath file names on its first
// line, "" for a malformed one.
func TrialFromMarker(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	name := strings.TrimSpace(first)
	if !imageNameRE().MatchString(name) {
		return ""
	}
	return name
}

// PrepareNextRoot mounts the inactive image name ("" for the only one)
// at /run/nextroot, as drd activate -x reboot=soft does before
// systemctl soft-reboot, and marks a trial; undo takes it back.
func (m Machine) PrepareNextRoot(ctx context.Context, name string, trial bool, r report.Reporter) (undo func(), err error) {
	st, err := m.Scan(ctx)
	if err != nil {
		return nil, err
	}
	img, err := st.Inactive(name)
	if err != nil {
		return nil, err
	}
	return m.prepareSoft(ctx, img, trial, false, r)
}

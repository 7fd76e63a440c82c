package bootenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv/grub"
	"github.com/drd-linux/drd/internal/report"
)

// InstallRecovery puts STAGEISL into the /boot/drd of every bootable
// image of st (a Scan) (files: a name of RecoveryFiles -> its bytes; rec:
// the manifest), then rewrites every image's drd.cfg so that its menu has
// the STAGEISL entry, then on UEFI puts the files on each image's ESP with
// a boot entry of their own (recoveryESPs, writeRecoveryESPs). Every
// /boot and ESP is checked for room before anything is written. An
// inactive image's /boot is mounted read-write for this only. An older
// copy is replaced file by file, atomically. preview: every check,
// nothing written.
func (m Machine) InstallRecovery(st *Status, files map[string][]byte, rec Recovery, preview bool, r report.Reporter) error {
	if !grub.CmdlineRE().MatchString(rec.Cmdline) || !grub.FileRE().MatchString(rec.Kernel) {
		return fmt.Errorf("installing STAGEISL: kernel %q, command line %q: want a plain version and no quotes, $, ;, braces or backslashes", rec.Kernel, rec.Cmdline)
	}
	var size int64
	for _, name := range RecoveryFiles {
		data, ok := files[name]
		if !ok {
			return fmt.Errorf("installing STAGEISL: no %s to write", name)
		}
		size += int64(len(data))
	}
	imgs := bootOrder(st)
	if len(imgs) == 0 {
		return errors.New("no image drd can boot: the booted image's record names no / or /boot (run drd clone first, or drd status)")
	}
	// First every check, then the writes: a /boot without room stops the
	// install before any image has changed. An inactive image whose /boot
	// cannot be reached (its disk is gone) is left out, with a warning.
	r.Step("Checking every image's /boot for %.1f MiB (STAGEISL for Linux %s)", float64(size)/(1<<20), rec.Kernel)
	var reach []*Image
	for _, img := range imgs {
		err := m.writeRecoveryTo(img, files, rec, size, true, r)
		switch {
		case err == nil:
			reach = append(reach, img)
			if preview {
				f, _, _ := bootFS(img)
				r.Note("%s: would write %s", img.Name, filepath.Join(f.MountPoint, recoveryRel(f.MountPoint)))
			}
		case img.Booted || errors.Is(err, errNoRoom):
			return err
		default:
			r.Warn("STAGEISL not in %s: %v", img.Name, err)
		}
	}
	esps, err := m.recoveryESPs(st, files, r)
	if err != nil {
		return err
	}
	if preview {
		for _, e := range esps {
			r.Note("%s: would write %s on %s and a boot entry %q", e.img.Name, RecoveryEFIDir, e.esp.dev, RecoveryTitle)
		}
		r.Step("Preview: the entry %q would be added to every image's boot menu (nothing was written)", RecoveryTitle)
		return nil
	}
	r.Step("Writing STAGEISL into every image's /boot/%s", RecoveryDir)
	for _, img := range reach {
		if err := m.writeRecoveryTo(img, files, rec, size, false, r); err != nil {
			return err
		}
	}
	r.Step("Adding %q (GRUB hotkey %s) to every image's boot menu", RecoveryTitle, RecoveryHotkey)
	if err := m.WriteBootConfig(st, nil, nil, r); err != nil {
		return err
	}
	if len(esps) > 0 {
		r.Step("Writing STAGEISL to every ESP, with a boot entry %q last in BootOrder", RecoveryTitle)
	}
	return m.writeRecoveryESPs(esps, files, rec, r)
}

// writeRecoveryTo writes STAGEISL into img's /boot/drd, after checking
// that its boot file system has room for it; preview: the check only, on
// a read-only mount.
func (m Machine) writeRecoveryTo(img *Image, files map[string][]byte, rec Recovery, size int64, preview bool, r report.Reporter) (err error) {
	f, _, _ := bootFS(img)
	dir, release, err := m.openFS(img, f.MountPoint, !preview)
	if err != nil {
		return fmt.Errorf("opening the /boot of %s: %w", img.Name, err)
	}
	defer func() { err = errors.Join(err, release()) }()
	target := filepath.Join(dir, recoveryRel(f.MountPoint))
	if err := checkRoom(target, files, size); err != nil {
		return fmt.Errorf("the /boot of %s: %w", img.Name, err)
	}
	if preview {
		return nil
	}
	if err := writeRecovery(dir, f.MountPoint, files, rec); err != nil {
		return fmt.Errorf("writing STAGEISL into the /boot of %s: %w", img.Name, err)
	}
	r.Note("%s: %s in %s", img.Name, RecoveryManifest, target)
	return nil
}

// errNoRoom is returned for a /boot or an ESP without room for STAGEISL.
var errNoRoom = errors.New("not enough room")

// checkRoom fails when the file system of dir (or of its parent, if dir
// does not exist yet) lacks room for the files: each is written beside
// the one it replaces before that one goes, so the largest old file still
// counts while the new one is written.
func checkRoom(dir string, files map[string][]byte, size int64) error {
	probe := dir
	if _, err := os.Stat(probe); err != nil {
		probe = filepath.Dir(dir)
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(probe, &sfs); err != nil {
		return fmt.Errorf("checking free space in %s: %w", probe, err)
	}
	free := int64(sfs.Bavail) * int64(sfs.Bsize)
	var old, biggest int64
	for name := range files {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
			old += fi.Size()
			biggest = max(biggest, fi.Size())
		}
	}
	need := size - old + biggest + 1<<20 // slack for directories and the manifest
	if free < need {
		return fmt.Errorf("%w: %.1f MiB free, STAGEISL needs %.1f MiB: free some space (old kernels: apt autoremove) and run drd isl install again",
			errNoRoom, float64(free)/(1<<20), float64(need)/(1<<20))
	}
	return nil
}

package bootenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/internal/report"
)

// InstallRecovery puts STAGEISL into every bootable image's /boot/drd
// (the images of st, a Scan)
// (files: a name of RecoveryFiles -> its bytes; rec: the manifest), then
// rewrites every image's drd.cfg so that its menu has the STAGEISL entry,
// then on UEFI puts the files on each image's ESP with a boot entry of
// their own (installRecoveryEFI). An inactive image's /boot is mounted
// read-write for this only. An older copy is replaced file by file,
// atomically. preview: every check, nothing written.
func (m Machine) InstallRecovery(st *Status, files map[string][]byte, rec Recovery, preview bool, r report.Reporter) error {
	if !cmdlineRE.MatchString(rec.Cmdline) || !fileRE.MatchString(rec.Kernel) {
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
	r.Step("Writing STAGEISL (Linux %s, %.1f MiB) into every image's /boot/%s", rec.Kernel, float64(size)/(1<<20), RecoveryDir)
	for _, img := range imgs {
		if err := m.writeRecoveryTo(img, files, rec, size, preview, r); err != nil {
			if img.Booted || img.ImageFile == "" {
				return err
			}
			r.Warn("STAGEISL not in %s: %v", img.Name, err)
		}
	}
	if preview {
		r.Step("Preview: the entry %q would be added to every image's boot menu (nothing was written)", RecoveryTitle)
		return m.installRecoveryEFI(st, files, rec, true, r)
	}
	r.Step("Adding %q (GRUB hotkey %s) to every image's boot menu", RecoveryTitle, RecoveryHotkey)
	if err := m.WriteBootConfig(st, nil, nil, r); err != nil {
		return err
	}
	return m.installRecoveryEFI(st, files, rec, false, r)
}

// writeRecoveryTo writes STAGEISL into img's /boot/drd, after checking
// that its boot file system has room for it.
func (m Machine) writeRecoveryTo(img *Image, files map[string][]byte, rec Recovery, size int64, preview bool, r report.Reporter) error {
	f, _, _ := bootFS(img)
	dir, release, err := m.openFS(img, f.MountPoint, !preview)
	if err != nil {
		return fmt.Errorf("opening the /boot of %s: %w", img.Name, err)
	}
	defer release()
	target := filepath.Join(dir, recoveryRel(f.MountPoint))
	if err := checkRoom(target, files, size); err != nil {
		return fmt.Errorf("the /boot of %s: %w", img.Name, err)
	}
	if preview {
		r.Note("%s: would write %s/%s", img.Name, f.MountPoint, recoveryRel(f.MountPoint))
		return nil
	}
	if err := writeRecovery(dir, f.MountPoint, files, rec); err != nil {
		return fmt.Errorf("writing STAGEISL into the /boot of %s: %w", img.Name, err)
	}
	r.Note("%s: %s in %s", img.Name, RecoveryManifest, target)
	return nil
}

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
		return fmt.Errorf("%.1f MiB free, STAGEISL needs %.1f MiB: free some space (old kernels: apt autoremove) and run drd isl install again",
			float64(free)/(1<<20), float64(need)/(1<<20))
	}
	return nil
}

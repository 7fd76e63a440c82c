package bootenv

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/drd-linux/drd/bootenv/grub"
	"github.com/drd-linux/drd/internal/inroot"
	"github.com/drd-linux/drd/internal/report"
)

// PanicSeconds is how long a trial kernel waits after a panic before it
// reboots (panic= on its command line), so that GRUB can try again or
// return to the last good image.
const PanicSeconds = 10

// grubTrialArgs are what GRUB's trial entry adds after panic=: the
// trial's watchdog, with the deadline of the block being written (next),
// else of the freshest block; DefaultWatchdogSeconds when no trial is
// pending, so that the menu changes only with a trial's deadline.
func grubTrialArgs(st *Status, next *BootState) string {
	s := next
	if s == nil {
		s = st.Boot
	}
	seconds := DefaultWatchdogSeconds
	if s != nil && s.Trial != "" {
		seconds = s.Watchdog
	}
	a, _ := TrialWatchdogArgs(seconds)
	return a
}

// WriteBootConfig writes drd's menu (drd.cfg) into every bootable image's
// /boot and then, if next is not nil, drd's environment block: the
// inactive images' copies first, each synced, the booted image's last.
// From the first copy written on, GRUB obeys next (it has the highest
// sequence number); a power loss before it leaves the old decision.
// need names images whose /boot must be written (the boot target);
// another image whose disk is missing is skipped with a warning.
func (m Machine) WriteBootConfig(st *Status, next *BootState, need []string, r report.Reporter) (err error) {
	imgs := bootOrder(st)
	type opened struct {
		img     *Image
		fs      FileSystem
		dir     string
		release func() error
	}
	var open []opened
	defer func() {
		// Each unmount's error (each names its file system) joins the
		// call's: a /boot left mounted is the administrator's to know.
		for _, o := range open {
			err = errors.Join(err, o.release())
		}
	}()
	needed := map[string]bool{}
	for _, n := range need {
		needed[n] = true
	}
	args := ""
	if b, err := os.ReadFile(filepath.Join(m.ProcDir, "cmdline")); err == nil {
		args = kernelArgs(string(b))
	}
	var menu []grub.MenuImage
	for _, img := range imgs {
		f, _, _ := bootFS(img)
		dir, release, err := m.openFS(img, f.MountPoint, true)
		if err == nil {
			var mi grub.MenuImage
			if mi, err = menuImage(img, dir, args); err == nil {
				mi.TrialInitrd = m.trialInitrd(img, f.MountPoint, dir, mi, r)
				open = append(open, opened{img, f, dir, release})
				menu = append(menu, mi)
				continue
			}
			err = errors.Join(err, release())
		}
		if needed[img.Name] {
			return err // openFS's and menuImage's errors name the image
		}
		if img.ImageFile != "" {
			r.Note("leaving %s out of the boot menu: %v", img.Name, err)
			continue
		}
		r.Warn("leaving %s out of the boot menu: %v", img.Name, err)
	}
	sort.SliceStable(menu, func(i, j int) bool { return menu[i].Name < menu[j].Name })
	trialArgs := grubTrialArgs(st, next)
	for _, o := range open {
		cfg, err := grub.Menu{Self: o.img.Name, Images: menu, Panic: PanicSeconds, TrialArgs: trialArgs, Recovery: menuRecovery(o.img, o.dir)}.Encode()
		if err != nil {
			return err
		}
		// Inside the image's boot file system: a /boot/grub (or a file
		// in it) that a package of the image made a link never leads
		// drd's writes onto the booted system's files.
		tr := inroot.Mounts(o.dir)
		grubDir := grubDirRel(o.fs.MountPoint)
		changed, err := writeIfChangedIn(tr, path.Join(grubDir, "drd.cfg"), cfg, 0o644)
		if err != nil {
			return fmt.Errorf("writing the boot menu of %s: %w", o.img.Name, err)
		}
		if changed {
			r.Note("%s: wrote %s", o.img.Name, MenuPath)
		}
		if err := hookGrubCfgIn(tr, path.Join(grubDir, "grub.cfg")); err != nil {
			return fmt.Errorf("adding drd's menu to the grub.cfg of %s: %w", o.img.Name, err)
		}
	}
	if next == nil {
		return nil
	}
	for _, o := range open {
		if err := writeBlockIn(inroot.Mounts(o.dir), blockRel(o.fs.MountPoint), *next); err != nil {
			return fmt.Errorf("writing the boot target into %s's %s: %w", o.img.Name, BlockPath, err)
		}
		r.Note("%s: %s says seq %d, next %s, trial %q (%d tries)", o.img.Name, BlockPath, next.Seq, next.Next, next.Trial, next.Tries)
	}
	return nil
}

// menuRecovery is the STAGEISL entry of img's menu when drd isl install
// put STAGEISL into its /boot (at bootTop), else nil.
func menuRecovery(img *Image, bootTop string) *grub.MenuRecovery {
	f, prefix, _ := bootFS(img)
	rec := readRecovery(bootTop, f.MountPoint)
	if rec == nil {
		return nil
	}
	return &grub.MenuRecovery{BootUUID: f.UUID, BootPrefix: prefix, Cmdline: rec.Cmdline}
}

// bootOrder lists the images drd can boot: the inactive ones first, the
// booted one last (the order in which blocks are written).
func bootOrder(st *Status) []*Image {
	var imgs []*Image
	for _, img := range st.Images {
		if bootable(img) && !img.Booted {
			imgs = append(imgs, img)
		}
	}
	if st.Booted != nil && bootable(st.Booted) {
		imgs = append(imgs, st.Booted)
	}
	return imgs
}

// writeIfChanged writes data atomically unless the file has it already.
func writeIfChanged(p string, data []byte, perm fs.FileMode) (bool, error) {
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	return true, WriteFileAtomic(p, data, perm)
}

// writeIfChangedIn is writeIfChanged for the file rel in the tree tr
// (an image's file system): never through a link that leaves it.
func writeIfChangedIn(tr inroot.Tree, rel string, data []byte, perm fs.FileMode) (bool, error) {
	if old, err := tr.ReadFile(rel); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := tr.MkdirAll(path.Dir(rel), 0o755); err != nil {
		return true, err
	}
	return true, tr.WriteFile(rel, data, perm)
}

// hookGrubCfgIn is hookGrubCfg for the grub.cfg rel in the tree tr.
func hookGrubCfgIn(tr inroot.Tree, rel string) error {
	old, err := tr.ReadFile(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := tr.Lstat(rel)
	if err != nil {
		return err
	}
	_, err = writeIfChangedIn(tr, rel, grub.InsertHook(old), st.Mode().Perm())
	return err
}

// hookGrubCfg adds the 05_drd section to a grub.cfg that lacks it. A
// system with no grub.cfg is left alone: it boots by other means.
func hookGrubCfg(p string) error {
	old, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	_, err = writeIfChanged(p, grub.InsertHook(old), st.Mode().Perm())
	return err
}

// InstallHook puts /etc/grub.d/05_drd into the image whose root is at
// root, and drd's section into the grub.cfg in grubDir, so that drd's menu
// is in grub.cfg now and after every update-grub.
func InstallHook(root, grubDir string) error {
	if _, err := os.Stat(filepath.Join(root, "etc/grub.d")); err == nil {
		if _, err := writeIfChanged(filepath.Join(root, grub.GrubDScriptPath), []byte(grub.GrubDScript), 0o755); err != nil {
			return fmt.Errorf("writing %s: %w", grub.GrubDScriptPath, err)
		}
	}
	return hookGrubCfg(filepath.Join(grubDir, "grub.cfg"))
}

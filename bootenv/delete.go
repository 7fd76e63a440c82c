package bootenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/report"
)

// DeleteOptions of drd delete (and drd forget).
type DeleteOptions struct {
	Image   string // name, disk, image file or id
	Forget  bool   // drd forget: only the records of an image whose disk or file is gone
	Preview bool
}

// Delete removes an inactive image (see Machine.Delete).
func Delete(ctx context.Context, root string, opt DeleteOptions, r report.Reporter) error {
	return Real(root).Delete(ctx, opt, r)
}

// DeletePlan is what drd delete does to one image, decided before it
// changes anything.
type DeletePlan struct {
	Image *Image
	Disk  string // the whole disk whose signatures are wiped; ""
	File  string // the image file removed; ""
	VGs   []string
	// RecordsOnly: the image is not there (Status.Missing); only the
	// records that name it go.
	RecordsOnly bool
}

// What says in words what the plan does.
func (p DeletePlan) What() string {
	switch {
	case p.RecordsOnly:
		return fmt.Sprintf("forget %s (not present: %s): remove it from the booted image's records", p.Image.Name, p.Image.Target)
	case p.File != "":
		return fmt.Sprintf("delete %s: remove its image file %s and its records", p.Image.Name, p.File)
	}
	vgs := ""
	if len(p.VGs) > 0 {
		vgs = "remove its volume group " + strings.Join(p.VGs, ", ") + ", "
	}
	return fmt.Sprintf("delete %s: %swipe the signatures and partition table of %s, remove its records", p.Image.Name, vgs, p.Disk)
}

// PlanDelete decides what drd delete (forget: drd forget) does with the
// image name of st, or why it refuses: the booted image, the image the
// next boot uses (activated, or on trial), and with forget an image that
// is there.
func PlanDelete(st *Status, name string, forget bool) (DeletePlan, error) {
	if name == "" {
		return DeletePlan{}, errors.New("name the image to delete (drd status lists them)")
	}
	var img *Image
	var missing bool
	for _, m := range st.Missing {
		if m.Name == name || m.ID == name || m.Target == name {
			img, missing = m, true
		}
	}
	if img == nil {
		found := false
		for _, i := range st.Images {
			if i.Booted && (i.Name == name || i.Disk == name || i.ID == name) {
				return DeletePlan{}, fmt.Errorf("%s is the booted image: drd delete removes inactive images only", name)
			}
			found = found || i.Name == name
		}
		var err error
		if img, err = st.Inactive(name); err != nil {
			if !found && len(st.Missing) > 0 {
				var names []string
				for _, m := range st.Missing {
					names = append(names, m.Name+" ("+m.Target+", not present)")
				}
				err = fmt.Errorf("%w; the records also name %s", err, strings.Join(names, ", "))
			}
			return DeletePlan{}, err
		}
	}
	if b := st.Boot; (b != nil && (b.Next == img.Name || b.Trial == img.Name)) || st.Activated == img.Name || img.State == Activated {
		return DeletePlan{}, fmt.Errorf("%s is activated: the next boot uses it; run drd deactivate first, then drd delete %s", img.Name, img.Name)
	}
	p := DeletePlan{Image: img, RecordsOnly: missing}
	switch {
	case missing && !forget && !strings.HasPrefix(img.Target, "/dev/") && exists(img.Target):
		return DeletePlan{}, fmt.Errorf("%s: its image file %s is there but shows no image of this system (%s); look at it, remove it by hand if it is not needed, then drd forget %s", img.Name, img.Target, img.Missing, img.Name)
	case missing:
	case forget:
		return DeletePlan{}, fmt.Errorf("%s is there (on %s): drd forget is for an image whose disk or image file is gone; drd delete %s removes it", img.Name, where(img), img.Name)
	case InImageFile(img) || img.ImageFile != "" && img.Target == img.ImageFile:
		p.File = img.ImageFile
		if p.File == "" {
			p.File = img.Target
		}
	case img.Disk == "":
		return DeletePlan{}, fmt.Errorf("%s has no disk the scan could see: attach it, or drd forget %s if it is gone", img.Name, img.Name)
	default:
		p.Disk = img.Disk
		p.VGs = imageVGs(img.FileSystems)
	}
	return p, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func where(img *Image) string {
	if img.ImageFile != "" {
		return img.ImageFile
	}
	return img.Disk
}

// Delete removes an inactive image: it wipes the signatures and the
// partition table of its disk (so that no scan finds it again), or
// removes its image file, and removes it from the booted image's records.
// drd forget (opt.Forget) removes only the records of an image whose disk
// or file is gone. It refuses the booted image and the one the next boot
// uses, and an image that is mounted or in use.
func (m Machine) Delete(ctx context.Context, opt DeleteOptions, r report.Reporter) error {
	r.Step("Scanning for system images")
	st, err := m.Scan(ctx)
	if err != nil {
		return err
	}
	p, err := PlanDelete(st, opt.Image, opt.Forget)
	if err != nil {
		return err
	}
	img := p.Image
	if !p.RecordsOnly {
		if err := m.checkUnused(p); err != nil {
			return err
		}
	}
	if opt.Preview {
		r.Step("Preview: would %s (nothing was changed)", p.What())
		return nil
	}
	r.Step("%s", strings.ToUpper(p.What()[:1])+p.What()[1:])
	for _, vg := range p.VGs {
		if _, err := m.runner().Run(ctx, "vgremove", "-ff", "-y", vg); err != nil && !strings.Contains(err.Error(), "not found") {
			return fmt.Errorf("deleting %s: removing its volume group %s: %w", img.Name, vg, err)
		}
		r.Note("removed volume group %s", vg)
	}
	switch {
	case p.Disk != "":
		if err := images.Wipe(p.Disk); err != nil {
			return fmt.Errorf("deleting %s: %w", img.Name, err)
		}
		if err := images.HidePartitions(p.Disk); err != nil {
			r.Warn("%s is wiped, but the kernel still shows its old partitions (%v): they go at the next reboot", p.Disk, err)
		}
		r.Note("wiped %s", p.Disk)
	case p.File != "":
		if err := m.detachOwnLoops(p.File, r); err != nil {
			return fmt.Errorf("deleting %s: %w", img.Name, err)
		}
		if err := os.Remove(p.File); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("deleting %s: removing its image file: %w", img.Name, err)
		}
		r.Note("removed %s", p.File)
	}
	if err := m.forgetImage(img); err != nil {
		return fmt.Errorf("%s is gone, but its records are not: %w", img.Name, err)
	}
	if st.Boot != nil {
		rest := &Status{Booted: st.Booted, Activated: st.Activated, Boot: st.Boot}
		for _, i := range st.Images {
			if i != img {
				rest.Images = append(rest.Images, i)
			}
		}
		r.Step("Writing the boot menu of the other images without %s", img.Name)
		if err := m.WriteBootConfig(rest, nil, nil, r); err != nil {
			r.Warn("the boot menus may still list %s: %v; drd activate or deactivate writes them again", img.Name, err)
		}
	}
	r.Step("Done: %s is gone", img.Name)
	return nil
}

// checkUnused refuses to delete an image that is mounted (drd mount) or
// whose disk or file something uses, or a file the administrator attached.
func (m Machine) checkUnused(p DeletePlan) error {
	img := p.Image
	mounts, err := ReadMountinfo(m.ProcDir)
	if err != nil {
		return err
	}
	if len(MountsUnder(mounts, MountDir(m.Root, img.Name))) > 0 {
		return fmt.Errorf("%s is mounted at %s: run drd umount %s first", img.Name, MountDir(m.Root, img.Name), img.Name)
	}
	var disks []string
	if p.Disk != "" {
		disks = []string{p.Disk}
	} else if loops, err := images.LoopsOf(m.SysDir, p.File); err == nil {
		for _, l := range loops {
			if !images.AttachedByDrd(l) {
				return fmt.Errorf("%s: its image file %s is attached at %s, not by drd: detach it first (losetup -d %s)", img.Name, p.File, l, l)
			}
		}
		disks = loops
	}
	for _, disk := range disks {
		d, err := images.DeviceByPath(m.SysDir, disk)
		if err != nil {
			return fmt.Errorf("%s: %w", img.Name, err)
		}
		busy, err := images.InUse(m.SysDir, m.ProcDir, d)
		if err != nil {
			return fmt.Errorf("%s: checking what uses %s: %w", img.Name, disk, err)
		}
		// Held by device-mapper: the image's own volume group, which
		// vgremove takes away (an LV mounted somewhere is still refused).
		busy = slices.DeleteFunc(busy, func(why string) bool {
			return p.VGs != nil && strings.Contains(why, "LVM") && !strings.Contains(why, "mounted")
		})
		if len(busy) > 0 {
			return fmt.Errorf("%s is in use: %s; free it first (umount, swapoff)", img.Name, strings.Join(busy, "; "))
		}
	}
	return nil
}

// detachOwnLoops detaches the loop devices drd attached to file.
func (m Machine) detachOwnLoops(file string, r report.Reporter) error {
	loops, err := images.LoopsOf(m.SysDir, file)
	if err != nil {
		return err
	}
	for _, l := range loops {
		if !images.AttachedByDrd(l) {
			return fmt.Errorf("%s is attached at %s, not by drd: detach it first (losetup -d %s)", file, l, l)
		}
		if err := images.DetachLoop(l); err != nil {
			return err
		}
		r.Note("detached %s", l)
	}
	return nil
}

// forgetImage removes an image from the booted image's records: its image
// file from the list, and a delete event in the history, after which the
// history no longer names it as a clone that should be there.
func (m Machine) forgetImage(img *Image) error {
	if f := img.ImageFile; f != "" || InImageFile(img) {
		if f == "" {
			f = img.Target
		}
		if err := UnregisterImageFile(m.Root, f); err != nil {
			return err
		}
	}
	rec, err := BootedRecord(m.Root)
	if err != nil {
		return err
	}
	e := CloneEvent("succeeded", img.Name+" on "+img.Target, img.ID)
	e.Action = "delete"
	rec.History = append(rec.History, e)
	return WriteRecord(m.Root, rec)
}

// UnregisterImageFile removes an image file from the list under root.
func UnregisterImageFile(root, file string) error {
	p := filepath.Join(root, ImageFilesPath)
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var keep []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && l != file {
			keep = append(keep, l)
		}
	}
	out := ""
	if len(keep) > 0 {
		out = strings.Join(keep, "\n") + "\n"
	}
	return WriteFileAtomic(p, []byte(out), 0o644)
}

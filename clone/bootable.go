package clone

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/bootenv/efi"
	"github.com/drd-linux/drd/bootenv/grub"
	"github.com/drd-linux/drd/images"
)

// makeBootable gives the clone its own boot loader and menu, so that its
// disk boots alone: its grub.cfg names its own file systems, GRUB for
// BIOS goes into its BIOS-boot partition, GRUB for UEFI onto its ESP
// (also at the removable path) with its own Boot#### entry, and both
// images get drd's menu, environment block and boot-check unit. A booted
// image without GRUB (no /boot/grub/grub.cfg) is left as it is.
func (c *run) makeBootable(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.opt.Root, "boot/grub/grub.cfg")); err != nil {
		c.r.Note("the booted image has no /boot/grub/grub.cfg: the clone gets no boot loader")
		return nil
	}
	root := c.dst[c.rootIndex()]
	bootDir, grubRel := root, "boot/grub"
	for i, f := range c.FS {
		if f.MountPoint == "/boot" {
			bootDir, grubRel = c.dst[i], "grub"
		}
	}
	grubDir := filepath.Join(bootDir, grubRel)
	renames := map[string]string{}
	for _, f := range c.FS {
		if f.Src.UUID != "" && f.ID.UUID != "" {
			renames[f.Src.UUID] = f.ID.UUID
		}
	}
	maps.Copy(renames, c.importRenames())
	grubRenames := maps.Clone(renames)
	for _, f := range c.FS {
		// root=/dev/mapper/vg-lv on the kernel command line: the clone's LV
		for _, kind := range []string{"MAPPER", "VGLV"} {
			if o, n := f.Src.Dev.ID.Value(kind), f.ID.Value(kind); f.LV != "" && o != "" && n != "" {
				grubRenames[o] = n
			}
		}
	}
	if err := rewriteFile(filepath.Join(grubDir, "grub.cfg"), grubRenames); err != nil {
		return fmt.Errorf("pointing the clone's grub.cfg at its file systems: %w", err)
	}
	for _, t := range []struct{ root, grubDir string }{{root, grubDir}, {c.opt.Root, filepath.Join(c.opt.Root, "boot/grub")}} {
		if err := bootenv.InstallHook(t.root, t.grubDir); err != nil {
			return err
		}
		if err := bootenv.InstallBootCheck(t.root, c.opt.Exe); err != nil {
			return err
		}
	}
	if err := c.installBIOS(ctx, bootDir, grubDir); err != nil {
		return err
	}
	if err := c.installEFI(ctx, renames, grubDir); err != nil {
		return err
	}
	if c.Target.File != "" {
		c.r.Note("the clone is in an image file: no boot menu entry on this machine")
		return nil
	}
	booted := &bootenv.Image{Record: *c.Origin, Disk: c.Source.Disk, Booted: true}
	booted.FileSystems = nil
	for _, s := range c.Source.Critical {
		booted.FileSystems = append(booted.FileSystems, s.FileSystem)
	}
	clone := &bootenv.Image{Record: *c.rec, Disk: c.disk}
	st := &bootenv.Status{Booted: booted, Images: []*bootenv.Image{booted, clone}}
	m := bootenv.Real(c.opt.Root)
	m.SysDir, m.ProcDir = c.opt.SysDir, c.opt.ProcDir
	next := bootenv.BootState{Seq: 1, Next: booted.Name}
	if cur, err := bootenv.ReadBlock(filepath.Join(c.opt.Root, bootenv.BlockPath)); err == nil {
		next.Seq = cur.Seq + 1
	}
	return m.WriteBootConfig(st, &next, []string{clone.Name}, c.r)
}

// rewriteFile replaces UUIDs in a file that may not exist.
func rewriteFile(p string, renames map[string]string) error {
	old, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	text, n := grub.ReplaceUUIDs(old, renames)
	if n == 0 {
		return nil
	}
	return writeLike(p, text)
}

// installBIOS puts GRUB for BIOS into the clone disk's BIOS-boot partition
// (and its boot sector), its modules and prefix in the clone's /boot,
// when the booted image boots that way too.
func (c *run) installBIOS(ctx context.Context, bootDir, grubDir string) error {
	if _, err := os.Stat(filepath.Join(grubDir, "i386-pc")); err != nil {
		return nil
	}
	hasBIOSPart := false
	for _, p := range c.Parts {
		hasBIOSPart = hasBIOSPart || p.Type == images.BIOSBoot
	}
	if !hasBIOSPart {
		return nil
	}
	// One rule for every target, a disk or an image file (which is a
	// disk once written to one, or attached to a VM): a clone whose boot
	// loader could not be installed is not a good clone. docs/boot.md.
	out, err := grub.InstallGrubBIOS(ctx, c.opt.Runner, "", strings.TrimSuffix(grubDir, "/grub"), c.disk)
	if err != nil {
		return fmt.Errorf("%w; the clone cannot boot on its own: fix the cause, then run drd clone -t %s -x overwrite=true again", err, c.Target.Given)
	}
	c.r.Note("GRUB for BIOS installed on %s %s", c.disk, out)
	return nil
}

// installEFI writes a GRUB EFI image that finds the clone's /boot by its
// UUID onto the clone's ESP (EFI/debian and the removable path), and on a
// UEFI machine a Boot#### entry for it, last in BootOrder.
func (c *run) installEFI(ctx context.Context, renames map[string]string, grubDir string) error {
	var esp *TargetFS
	for i := range c.FS {
		if c.FS[i].IsESP() {
			esp = &c.FS[i]
		}
	}
	if esp == nil {
		return nil
	}
	// GRUB of the image itself (its packages': an imported image's may be
	// newer than this host's), its modules and its core image from the
	// same place; the booted image's when the image has none.
	lib := filepath.Join(c.dst[c.rootIndex()], "usr/lib/grub/x86_64-efi")
	if _, err := os.Stat(lib); err != nil {
		lib = filepath.Join(c.opt.Root, "usr/lib/grub/x86_64-efi")
	}
	if _, err := os.Stat(lib); err != nil {
		c.r.Note("no %s: the clone's ESP keeps the booted image's loaders", lib)
		return nil
	}
	bootUUID, prefix := "", "/boot/grub"
	for _, f := range c.FS {
		if f.MountPoint == "/" && bootUUID == "" {
			bootUUID = f.ID.UUID
		}
		if f.MountPoint == "/boot" {
			bootUUID, prefix = f.ID.UUID, "/grub"
		}
	}
	for _, name := range []string{"EFI/debian/grub.cfg", "EFI/BOOT/grub.cfg"} {
		if old, err := images.ReadFATFile(esp.ID.Path, name); err == nil {
			if text, n := grub.ReplaceUUIDs(old, renames); n > 0 {
				if err := images.WriteFATFile(esp.ID.Path, name, text); err != nil {
					return err
				}
			}
		}
	}
	if err := copyDir(lib, filepath.Join(grubDir, "x86_64-efi")); err != nil {
		return fmt.Errorf("copying GRUB's EFI modules to the clone: %w", err)
	}
	tmp, err := os.MkdirTemp("", "drd-grub-efi-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	load := fmt.Sprintf("search.fs_uuid %s root\nset prefix=($root)'%s'\n", bootUUID, prefix)
	if err := os.WriteFile(filepath.Join(tmp, "load.cfg"), []byte(load), 0o644); err != nil {
		return err
	}
	img := filepath.Join(tmp, "grubx64.efi")
	if _, err := c.opt.Runner.Run(ctx, "grub-mkimage", "-O", "x86_64-efi", "-d", lib, "-o", img,
		"-c", filepath.Join(tmp, "load.cfg"), "-p", prefix,
		"part_gpt", "part_msdos", "ext2", "fat", "search_fs_uuid", "search", "normal", "configfile"); err != nil {
		return fmt.Errorf("making GRUB's EFI image for the clone: %w", err)
	}
	data, err := os.ReadFile(img)
	if err != nil {
		return err
	}
	for _, name := range []string{"EFI/debian/grubx64.efi", "EFI/BOOT/BOOTX64.EFI"} {
		if err := images.WriteFATFile(esp.ID.Path, name, data); err != nil {
			return fmt.Errorf("writing GRUB to the clone's ESP: %w", err)
		}
	}
	c.r.Note("GRUB for UEFI on the clone's ESP %s: finds /boot by UUID %s", esp.ID.Path, bootUUID)
	if c.Target.File != "" {
		return nil
	}
	if c.opt.EFI == nil {
		c.r.Note("no UEFI boot entry for the clone: no UEFI variables given (a BIOS machine, -x efi_vars=none, or --root without -x efi_vars=host); the firmware boots it from %s when its disk comes first", bootenv.RemovableEFIPath)
		return nil
	}
	part := c.Parts[esp.Part]
	hd := efi.HardDrive{Number: uint32(part.Number), Start: uint64(part.Start / 512), Size: uint64(part.Size / 512), PartGUID: strings.ToLower(part.GUID)}
	num, order, err := efi.AddBootEntry(c.opt.EFI, "drd "+c.Name, bootenv.DiskPrefix(c.opt.SysDir, c.disk), hd, bootenv.GrubEFIPath)
	if err != nil {
		return fmt.Errorf("adding the clone's UEFI boot entry: %w", err)
	}
	c.r.Note("UEFI boot entry %s: drd %s; BootOrder %s (right after the entry this machine booted from)", efi.BootVar(num), c.Name, efi.BootOrderText(order))
	return nil
}

// copyDir copies the regular files of src into dst (made if missing).
func copyDir(src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

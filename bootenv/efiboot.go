package bootenv

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/drd-linux/drd/bootenv/efi"
	"github.com/drd-linux/drd/images"
)

// The UEFI side of switching: each image's disk has its own Boot####
// entry (made by drd clone for a clone, by the installer for the
// original); a lasting activation puts the target's entry first in
// BootOrder. The GRUB block decides anyway; BootOrder decides which
// disk's GRUB reads it, and what the firmware boots when a disk is gone.

// GrubEFIPath is where drd puts GRUB on a clone's ESP, and the removable
// media path the firmware falls back to.
const (
	GrubEFIPath      = `\EFI\debian\grubx64.efi`
	RemovableEFIPath = `\EFI\BOOT\BOOTX64.EFI`
)

// noEFIVars notes what was left alone (what) because the caller gave no
// UEFI variables (Machine.EFI): a BIOS machine, or drd told to leave
// them, or acting on an image root that is not the running system's.
func (m Machine) noEFIVars(r interface{ Note(string, ...any) }, what string) {
	r.Note("%s: no UEFI variables given (a BIOS machine, -x efi_vars=none, or --root without -x efi_vars=host)", what)
}

// espPartition is the HD() node of img's ESP.
func (m Machine) espPartition(img *Image) (efi.HardDrive, error) {
	f, ok := fsOf(img, "/boot/efi")
	if !ok {
		return efi.HardDrive{}, fmt.Errorf("%s has no EFI system partition", img.Name)
	}
	devs, err := ReadDevices(m.SysDir)
	if err != nil {
		return efi.HardDrive{}, err
	}
	d, ok := devs.BySpec("UUID=" + f.UUID)
	if !ok || d.ID.PartUUID == "" {
		return efi.HardDrive{}, fmt.Errorf("the ESP of %s (UUID=%s) is on no GPT partition of this machine", img.Name, f.UUID)
	}
	dev, err := images.DeviceByPath(m.SysDir, d.Path)
	if err != nil {
		return efi.HardDrive{}, err
	}
	return efi.HardDrive{Number: uint32(dev.Partition), Start: uint64(dev.Start / 512), Size: uint64(dev.Size / 512), PartGUID: d.ID.PartUUID}, nil
}

// putFirst puts the boot entry of img's disk (its own loader, not
// STAGEISL's) first in BootOrder. A BIOS machine, or an image without an
// entry, is left as it is (noted).
func (m Machine) putFirst(img *Image, r interface{ Note(string, ...any) }) error {
	if img == nil {
		return nil // no image of that name found: nothing to put first
	}
	if m.EFI == nil {
		if _, ok := fsOf(img, "/boot/efi"); ok {
			m.noEFIVars(r, "BootOrder unchanged")
		}
		return nil
	}
	hd, err := m.espPartition(img)
	if err != nil {
		r.Note("BootOrder unchanged: %v", err)
		return nil
	}
	entries, order, err := efi.BootEntries(m.EFI)
	if err != nil {
		return err
	}
	if n, ok := imageEntry(entries, order, hd.PartGUID); ok {
		if _, err := efi.PutFirst(m.EFI, n); err != nil {
			return err
		}
		r.Note("BootOrder: %s (%s) first", efi.BootVar(n), entries[n].Description)
		return nil
	}
	r.Note("BootOrder unchanged: no boot entry in it for the ESP of %s", img.Name)
	return nil
}

// imageEntry is the first entry of order that boots an image's loader
// from the ESP partGUID: STAGEISL's entry on the same ESP is not one.
func imageEntry(entries map[uint16]efi.LoadOption, order []uint16, partGUID string) (uint16, bool) {
	for _, n := range order {
		if e := entries[n]; strings.EqualFold(e.Disk.PartGUID, partGUID) && !isRecoveryEntry(e) {
			return n, true
		}
	}
	return 0, false
}

// entryOf finds the BootOrder entry that boots from img's ESP.
func (m Machine) entryOf(img *Image) (uint16, efi.LoadOption, bool, error) {
	hd, err := m.espPartition(img)
	if err != nil {
		return 0, efi.LoadOption{}, false, nil
	}
	entries, order, err := efi.BootEntries(m.EFI)
	if err != nil {
		return 0, efi.LoadOption{}, false, err
	}
	if n, ok := imageEntry(entries, order, hd.PartGUID); ok {
		return n, entries[n], true, nil
	}
	return 0, efi.LoadOption{}, false, nil
}

// setBootNext makes the firmware start img's disk at the next boot only
// (BootNext), or (img nil) removes BootNext. UEFI firmware may connect
// only the disk it boots, so a trial image is started from its own
// disk's GRUB: once. If it does not come up, the firmware's next boot
// goes by BootOrder to the last good image.
func (m Machine) setBootNext(img *Image, r interface{ Note(string, ...any) }) error {
	if m.EFI == nil {
		if img != nil {
			if _, ok := fsOf(img, "/boot/efi"); ok {
				m.noEFIVars(r, "BootNext unchanged")
			}
		}
		return nil
	}
	if img == nil {
		return efi.ClearBootNext(m.EFI)
	}
	n, e, ok, err := m.entryOf(img)
	if err != nil {
		return err
	}
	if !ok {
		r.Note("BootNext not set: no boot entry for the ESP of %s", img.Name)
		return nil
	}
	if err := efi.SetBootNext(m.EFI, n); err != nil {
		return err
	}
	r.Note("BootNext: %s (%s)", efi.BootVar(n), e.Description)
	return nil
}

// DiskPrefix is the bus path of a virtio disk on PCI (/dev/vdc) for a
// full-path boot entry, or nil: other disks get the short form HD()/File()
// that every firmware expands by itself.
func DiskPrefix(sysDir, disk string) []byte {
	dev, err := filepath.EvalSymlinks(filepath.Join(sysDir, "block", filepath.Base(disk), "device"))
	if err != nil || !strings.Contains(filepath.Base(dev), "virtio") {
		return nil
	}
	p, err := efi.PCIPath(dev)
	if err != nil {
		return nil
	}
	return p
}

package bootenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

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

// efiVars is the machine's UEFI variables, nil on a BIOS machine.
func (m Machine) efiVars() EFIVars {
	if m.EFI != nil {
		return m.EFI
	}
	if m.SysDir != "/sys" {
		return nil // a test machine: never the real firmware
	}
	if _, err := os.Stat(DefaultEFIVarDir); err != nil {
		return nil
	}
	return EFIVarFS{Dir: DefaultEFIVarDir}
}

// AddBootEntry makes (or rewrites) the Boot#### entry that boots file
// from the partition hd, and puts it into BootOrder right after the entry
// the machine booted from (BootCurrent), else last: when the booted disk
// is gone, the firmware tries this one next, before the network or shell
// entries that often follow. It returns the entry's number and the new
// BootOrder.
func AddBootEntry(v EFIVars, desc string, prefix []byte, hd HardDrive, file string) (uint16, []uint16, error) {
	entries, order, err := BootEntries(v)
	if err != nil {
		return 0, nil, err
	}
	want := LoadOption{Active: true, Description: desc, Prefix: prefix, Disk: hd, File: file}
	num, newOrder := PlaceEntry(entries, order, want, bootCurrent(v))
	data, err := want.Encode()
	if err != nil {
		return 0, nil, err
	}
	if err := v.Set(BootVar(num), data); err != nil {
		return 0, nil, err
	}
	if err := v.Set("BootOrder", EncodeBootOrder(newOrder)); err != nil {
		return 0, nil, fmt.Errorf("writing BootOrder: %w", err)
	}
	return num, newOrder, nil
}

// BootOrderText is order as efibootmgr shows it: 0001,0004,0003.
func BootOrderText(order []uint16) string {
	s := make([]string, len(order))
	for i, n := range order {
		s[i] = fmt.Sprintf("%04X", n)
	}
	return strings.Join(s, ",")
}

// bootCurrent is the number of the entry the firmware booted, or -1.
func bootCurrent(v EFIVars) int {
	b, err := v.Get("BootCurrent")
	if err != nil {
		return -1
	}
	if n, err := DecodeBootOrder(b); err == nil && len(n) == 1 {
		return int(n[0])
	}
	return -1
}

// espPartition is the HD() node of img's ESP.
func (m Machine) espPartition(img *Image) (HardDrive, error) {
	f, ok := fsOf(img, "/boot/efi")
	if !ok {
		return HardDrive{}, fmt.Errorf("%s has no EFI system partition", img.Name)
	}
	devs, err := ReadDevices(m.SysDir)
	if err != nil {
		return HardDrive{}, err
	}
	d, ok := devs.BySpec("UUID=" + f.UUID)
	if !ok || d.ID.PartUUID == "" {
		return HardDrive{}, fmt.Errorf("the ESP of %s (UUID=%s) is on no GPT partition of this machine", img.Name, f.UUID)
	}
	dev, err := images.DeviceByPath(m.SysDir, d.Path)
	if err != nil {
		return HardDrive{}, err
	}
	return HardDrive{Number: uint32(dev.Partition), Start: uint64(dev.Start / 512), Size: uint64(dev.Size / 512), PartGUID: d.ID.PartUUID}, nil
}

// putFirst puts the boot entry of img's disk (its own loader, not
// STAGEISL's) first in BootOrder. A BIOS machine, or an image without an
// entry, is left as it is (noted).
func (m Machine) putFirst(img *Image, r interface{ Note(string, ...any) }) error {
	v := m.efiVars()
	if v == nil {
		return nil
	}
	hd, err := m.espPartition(img)
	if err != nil {
		r.Note("BootOrder unchanged: %v", err)
		return nil
	}
	entries, order, err := BootEntries(v)
	if err != nil {
		return err
	}
	if n, ok := imageEntry(entries, order, hd.PartGUID); ok {
		newOrder := Reorder(order, n, true)
		if err := v.Set("BootOrder", EncodeBootOrder(newOrder)); err != nil {
			return fmt.Errorf("writing BootOrder: %w", err)
		}
		r.Note("BootOrder: %s (%s) first", BootVar(n), entries[n].Description)
		return nil
	}
	r.Note("BootOrder unchanged: no boot entry in it for the ESP of %s", img.Name)
	return nil
}

// imageEntry is the first entry of order that boots an image's loader
// from the ESP partGUID: STAGEISL's entry on the same ESP is not one.
func imageEntry(entries map[uint16]LoadOption, order []uint16, partGUID string) (uint16, bool) {
	for _, n := range order {
		if e := entries[n]; strings.EqualFold(e.Disk.PartGUID, partGUID) && !isRecoveryEntry(e) {
			return n, true
		}
	}
	return 0, false
}

// entryOf finds the BootOrder entry that boots from img's ESP.
func (m Machine) entryOf(v EFIVars, img *Image) (uint16, LoadOption, bool, error) {
	hd, err := m.espPartition(img)
	if err != nil {
		return 0, LoadOption{}, false, nil
	}
	entries, order, err := BootEntries(v)
	if err != nil {
		return 0, LoadOption{}, false, err
	}
	if n, ok := imageEntry(entries, order, hd.PartGUID); ok {
		return n, entries[n], true, nil
	}
	return 0, LoadOption{}, false, nil
}

// setBootNext makes the firmware start img's disk at the next boot only
// (BootNext), or (img nil) removes BootNext. UEFI firmware may connect
// only the disk it boots, so a trial image is started from its own
// disk's GRUB: once. If it does not come up, the firmware's next boot
// goes by BootOrder to the last good image.
func (m Machine) setBootNext(img *Image, r interface{ Note(string, ...any) }) error {
	v := m.efiVars()
	if v == nil {
		return nil
	}
	if img == nil {
		return v.Delete("BootNext")
	}
	n, e, ok, err := m.entryOf(v, img)
	if err != nil {
		return err
	}
	if !ok {
		r.Note("BootNext not set: no boot entry for the ESP of %s", img.Name)
		return nil
	}
	if err := v.Set("BootNext", EncodeBootOrder([]uint16{n})); err != nil {
		return fmt.Errorf("writing BootNext: %w", err)
	}
	r.Note("BootNext: %s (%s)", BootVar(n), e.Description)
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
	p, err := PCIPath(dev)
	if err != nil {
		return nil
	}
	return p
}

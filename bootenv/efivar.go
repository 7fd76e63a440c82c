package bootenv

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf16"

	"golang.org/x/sys/unix"
)

// UEFI boot entries: Boot#### variables (EFI_LOAD_OPTION, UEFI spec 3.1.3)
// and BootOrder, as values with their byte encodings.

// EFIGlobal is the vendor GUID of the UEFI boot variables.
const EFIGlobal = "8be4df61-93ca-11d2-aa0d-00e098032b8c"

// loadOptionActive is LOAD_OPTION_ACTIVE: the firmware may boot the entry.
const loadOptionActive = 0x1

// LoadOption is one Boot#### variable.
type LoadOption struct {
	Active      bool
	Description string
	Prefix      []byte    // device path nodes before HD(): the disk's bus path (PciRoot/Pci), or nil for a short-form path
	Disk        HardDrive // where the loader is: a GPT partition
	File        string    // the loader's path on it: \EFI\debian\grubx64.efi
	Other       []byte    // device path nodes drd does not decode, kept as they were
	Optional    []byte    // optional data after the device path
}

// HardDrive is the HD() node of a device path: a GPT partition by
// number, place and unique GUID.
type HardDrive struct {
	Number      uint32
	Start, Size uint64 // in logical blocks (512 bytes)
	PartGUID    string // lower case, as images.Part.GUID
}

// Device path node types (UEFI spec 10.3).
const (
	dpMedia     = 0x04
	dpHardDrive = 0x01
	dpFilePath  = 0x04
	dpEnd       = 0x7f
	dpEndEntire = 0xff
)

// Encode writes the EFI_LOAD_OPTION.
func (o LoadOption) Encode() ([]byte, error) {
	guid, err := encodeGUID(o.Disk.PartGUID)
	if err != nil {
		return nil, fmt.Errorf("boot entry %q: %w", o.Description, err)
	}
	if !strings.HasPrefix(o.File, `\`) {
		return nil, fmt.Errorf("boot entry %q: loader path %q must start with a backslash", o.Description, o.File)
	}
	var path bytes.Buffer
	path.Write(o.Prefix)
	hd := make([]byte, 42)
	hd[0], hd[1] = dpMedia, dpHardDrive
	binary.LittleEndian.PutUint16(hd[2:], 42)
	binary.LittleEndian.PutUint32(hd[4:], o.Disk.Number)
	binary.LittleEndian.PutUint64(hd[8:], o.Disk.Start)
	binary.LittleEndian.PutUint64(hd[16:], o.Disk.Size)
	copy(hd[24:40], guid)
	hd[40], hd[41] = 0x02, 0x02 // GPT, GUID signature
	path.Write(hd)
	file := ucs2(o.File)
	fp := make([]byte, 4, 4+len(file))
	fp[0], fp[1] = dpMedia, dpFilePath
	binary.LittleEndian.PutUint16(fp[2:], uint16(4+len(file)))
	path.Write(append(fp, file...))
	path.Write(o.Other)
	path.Write([]byte{dpEnd, dpEndEntire, 4, 0})

	var b bytes.Buffer
	var attr uint32
	if o.Active {
		attr |= loadOptionActive
	}
	binary.Write(&b, binary.LittleEndian, attr)
	binary.Write(&b, binary.LittleEndian, uint16(path.Len()))
	b.Write(ucs2(o.Description))
	b.Write(path.Bytes())
	b.Write(o.Optional)
	return b.Bytes(), nil
}

// DecodeLoadOption reads a Boot#### variable. Entries whose path has no
// HD() node (firmware entries: the UEFI shell, PXE) decode with a zero
// Disk and their nodes in Other.
func DecodeLoadOption(b []byte) (LoadOption, error) {
	var o LoadOption
	if len(b) < 6 {
		return o, errors.New("boot entry too short")
	}
	o.Active = binary.LittleEndian.Uint32(b)&loadOptionActive != 0
	pathLen := int(binary.LittleEndian.Uint16(b[4:]))
	rest := b[6:]
	desc, n, err := unucs2(rest)
	if err != nil {
		return o, fmt.Errorf("boot entry description: %w", err)
	}
	o.Description = desc
	rest = rest[n:]
	if pathLen > len(rest) {
		return o, fmt.Errorf("boot entry %q: device path of %d bytes, %d left", desc, pathLen, len(rest))
	}
	path, opt := rest[:pathLen], rest[pathLen:]
	if len(opt) > 0 {
		o.Optional = append([]byte{}, opt...)
	}
	for len(path) >= 4 {
		typ, sub := path[0], path[1]
		l := int(binary.LittleEndian.Uint16(path[2:]))
		if l < 4 || l > len(path) {
			return o, fmt.Errorf("boot entry %q: device path node of length %d", desc, l)
		}
		node := path[:l]
		path = path[l:]
		switch {
		case typ == dpEnd && sub == dpEndEntire:
			return o, nil
		case typ == dpMedia && sub == dpHardDrive && l == 42 && node[40] == 2 && node[41] == 2:
			o.Disk = HardDrive{
				Number:   binary.LittleEndian.Uint32(node[4:]),
				Start:    binary.LittleEndian.Uint64(node[8:]),
				Size:     binary.LittleEndian.Uint64(node[16:]),
				PartGUID: decodeGUID(node[24:40]),
			}
		case typ == dpMedia && sub == dpFilePath && o.File == "":
			f, _, err := unucs2(node[4:])
			if err != nil {
				return o, fmt.Errorf("boot entry %q: file path: %w", desc, err)
			}
			o.File = f
		case o.Disk.PartGUID == "" && o.File == "":
			o.Prefix = append(o.Prefix, node...)
		default:
			o.Other = append(o.Other, node...)
		}
	}
	return o, fmt.Errorf("boot entry %q: device path without an end node", desc)
}

// EncodeBootOrder writes BootOrder: 16-bit entry numbers, little endian.
func EncodeBootOrder(order []uint16) []byte {
	b := make([]byte, 2*len(order))
	for i, n := range order {
		binary.LittleEndian.PutUint16(b[2*i:], n)
	}
	return b
}

// DecodeBootOrder reads BootOrder.
func DecodeBootOrder(b []byte) ([]uint16, error) {
	if len(b)%2 != 0 {
		return nil, fmt.Errorf("BootOrder of %d bytes: want an even number", len(b))
	}
	order := make([]uint16, len(b)/2)
	for i := range order {
		order[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return order, nil
}

// BootVar is the name of entry n: Boot0003.
func BootVar(n uint16) string { return fmt.Sprintf("Boot%04X", n) }

// PlaceEntry decides where a boot entry goes: the number of an entry
// that boots the same file from the same partition (then it is rewritten),
// else the lowest free number; and BootOrder with that number in it, right
// after entry number after (PlaceAfter; -1 for none).
func PlaceEntry(entries map[uint16]LoadOption, order []uint16, want LoadOption, after int) (uint16, []uint16) {
	num := uint16(0)
	found := false
	for _, n := range sortedNums(entries) {
		e := entries[n]
		if strings.EqualFold(e.Disk.PartGUID, want.Disk.PartGUID) && strings.EqualFold(e.File, want.File) {
			num, found = n, true
			break
		}
	}
	if !found {
		for _, taken := entries[num]; taken || slices.Contains(order, num); _, taken = entries[num] {
			num++
		}
	}
	return num, PlaceAfter(order, num, after)
}

// PlaceAfter puts num right after entry number after in order. If after
// is not in order (or -1), num keeps its place, or is appended if missing.
func PlaceAfter(order []uint16, num uint16, after int) []uint16 {
	i := slices.Index(order, uint16(after))
	if after < 0 || after > 0xffff || i < 0 || int(num) == after {
		return Reorder(order, num, false)
	}
	var out []uint16
	for _, n := range order {
		if n == num {
			continue
		}
		out = append(out, n)
		if int(n) == after {
			out = append(out, num)
		}
	}
	return out
}

// Reorder puts num first in order (first), or appends it if missing.
func Reorder(order []uint16, num uint16, first bool) []uint16 {
	if !first {
		if slices.Contains(order, num) {
			return slices.Clone(order)
		}
		return append(slices.Clone(order), num)
	}
	out := []uint16{num}
	for _, n := range order {
		if n != num {
			out = append(out, n)
		}
	}
	return out
}

func sortedNums(m map[uint16]LoadOption) []uint16 {
	var ns []uint16
	for n := range m {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

// ucs2 is s in UCS-2, little endian, with the terminating NUL.
func ucs2(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u)+2)
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

// unucs2 reads a NUL-terminated UCS-2 string and says how many bytes it took.
func unucs2(b []byte) (string, int, error) {
	var u []uint16
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			return string(utf16.Decode(u)), i + 2, nil
		}
		u = append(u, c)
	}
	return "", 0, errors.New("UCS-2 string without its NUL")
}

// encodeGUID writes a GUID as UEFI stores it: the first three fields
// little endian, the rest as written.
func encodeGUID(s string) ([]byte, error) {
	h, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(h) != 16 || len(s) != 36 {
		return nil, fmt.Errorf("partition GUID %q", s)
	}
	return []byte{h[3], h[2], h[1], h[0], h[5], h[4], h[7], h[6],
		h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]}, nil
}

func decodeGUID(b []byte) string {
	h := []byte{b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]}
	h = append(h, b[8:16]...)
	x := hex.EncodeToString(h)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// EFIVars reads and writes UEFI variables of the global vendor.
type EFIVars interface {
	Get(name string) ([]byte, error)
	Set(name string, data []byte) error
	Delete(name string) error // a missing variable is no error
	List() ([]string, error)
}

// EFIVarFS is the kernel's efivarfs mounted at Dir
// (/sys/firmware/efi/efivars).
type EFIVarFS struct{ Dir string }

// DefaultEFIVarDir is where efivarfs is mounted.
const DefaultEFIVarDir = "/sys/firmware/efi/efivars"

// efiAttrs are EFI_VARIABLE_NON_VOLATILE | BOOTSERVICE_ACCESS | RUNTIME_ACCESS.
const efiAttrs = 0x7

func (v EFIVarFS) path(name string) string { return filepath.Join(v.Dir, name+"-"+EFIGlobal) }

// Get implements EFIVars: the value without its 4 attribute bytes.
func (v EFIVarFS) Get(name string) ([]byte, error) {
	b, err := os.ReadFile(v.path(name))
	if err != nil {
		return nil, err
	}
	if len(b) < 4 {
		return nil, fmt.Errorf("EFI variable %s: %d bytes", name, len(b))
	}
	return b[4:], nil
}

// Set implements EFIVars. efivarfs makes most variables immutable; the
// flag is cleared first. The value goes in one write, as efivarfs wants.
func (v EFIVarFS) Set(name string, data []byte) error {
	if err := v.mutable(name); err != nil {
		return err
	}
	f, err := os.OpenFile(v.path(name), os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("writing EFI variable %s: %w", name, err)
	}
	buf := make([]byte, 4, 4+len(data))
	binary.LittleEndian.PutUint32(buf, efiAttrs)
	if _, err := f.Write(append(buf, data...)); err != nil {
		f.Close()
		return fmt.Errorf("writing EFI variable %s: %w", name, err)
	}
	return f.Close()
}

// Delete implements EFIVars.
func (v EFIVarFS) Delete(name string) error {
	if err := v.mutable(name); err != nil {
		return err
	}
	if err := os.Remove(v.path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("deleting EFI variable %s: %w", name, err)
	}
	return nil
}

// mutable clears the immutable flag efivarfs puts on most variables.
func (v EFIVarFS) mutable(name string) error {
	p := v.path(name)
	if f, err := os.Open(p); err == nil {
		flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
		if err == nil && flags&fsImmutableFL != 0 {
			err = unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags&^fsImmutableFL))
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("making EFI variable %s writable: %w", name, err)
		}
	}
	return nil
}

// List implements EFIVars: the names of the global vendor's variables.
func (v EFIVarFS) List() ([]string, error) {
	ents, err := os.ReadDir(v.Dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), "-"+EFIGlobal); ok {
			names = append(names, n)
		}
	}
	return names, nil
}

// BootEntries reads every Boot#### variable and BootOrder.
func BootEntries(v EFIVars) (map[uint16]LoadOption, []uint16, error) {
	names, err := v.List()
	if err != nil {
		return nil, nil, fmt.Errorf("listing EFI variables: %w", err)
	}
	entries := map[uint16]LoadOption{}
	for _, n := range names {
		var num uint16
		if len(n) != 8 || !strings.HasPrefix(n, "Boot") {
			continue
		}
		if _, err := fmt.Sscanf(n[4:], "%04X", &num); err != nil {
			continue
		}
		b, err := v.Get(n)
		if err != nil {
			return nil, nil, fmt.Errorf("reading EFI variable %s: %w", n, err)
		}
		o, err := DecodeLoadOption(b)
		if err != nil {
			continue // an entry drd cannot read is never one drd made
		}
		entries[num] = o
	}
	var order []uint16
	if b, err := v.Get("BootOrder"); err == nil {
		if order, err = DecodeBootOrder(b); err != nil {
			return nil, nil, err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("reading BootOrder: %w", err)
	}
	return entries, order, nil
}

// fsImmutableFL is FS_IMMUTABLE_FL of linux/fs.h.
const fsImmutableFL = 0x10

// PCIPath is the device path of a disk on PCI: PciRoot(bus)/Pci(dev,fn)...
// from the sysfs path of its PCI device (/sys/devices/pci0000:00/0000:00:03.0).
// With it a Boot#### entry names the disk in full, and the firmware
// connects it even when it connects only the disks of its boot order.
func PCIPath(sysDevice string) ([]byte, error) {
	parts := strings.Split(filepath.Clean(sysDevice), "/")
	var b bytes.Buffer
	root := false
	for _, p := range parts {
		var dom, bus, dev, fn uint32
		if !root {
			if n, _ := fmt.Sscanf(p, "pci%04x:%02x", &dom, &bus); n == 2 {
				node := make([]byte, 12)
				node[0], node[1] = 0x02, 0x01 // ACPI, ACPI device path
				binary.LittleEndian.PutUint16(node[2:], 12)
				binary.LittleEndian.PutUint32(node[4:], 0x0a0341d0) // EISA PNP0A03: PCI root bridge
				binary.LittleEndian.PutUint32(node[8:], bus)
				b.Write(node)
				root = true
			}
			continue
		}
		if n, _ := fmt.Sscanf(p, "%04x:%02x:%02x.%1x", &dom, &bus, &dev, &fn); n == 4 {
			b.Write([]byte{0x01, 0x01, 6, 0, byte(fn), byte(dev)}) // hardware, PCI
		}
	}
	if !root || b.Len() == 12 {
		return nil, fmt.Errorf("%s is not a PCI device path", sysDevice)
	}
	return b.Bytes(), nil
}

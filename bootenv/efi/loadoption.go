// Package efi is the UEFI side of booting, as values and one store:
// load options (Boot#### variables, EFI_LOAD_OPTION, UEFI spec 3.1.3)
// with their device paths, BootOrder and BootNext, and the variable
// store they live in (Vars). It knows nothing of drd's images: bootenv
// decides which entry goes where.
//
// Vars has two implementations: VarFS, the kernel's efivarfs (only a
// command's main opens the real machine's, at HostVarDir), and DirVars, a
// plain directory in the same layout, for tests; it refuses efivarfs.
// Nothing here defaults to the machine: a nil Vars is refused.
package efi

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
)

// GlobalGUID is the vendor GUID of the UEFI boot variables
// (EFI_GLOBAL_VARIABLE).
const GlobalGUID = "8be4df61-93ca-11d2-aa0d-00e098032b8c"

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
	file := UCS2(o.File)
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
	b.Write(UCS2(o.Description))
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

// UCS2 is s in UCS-2, little endian, with the terminating NUL.
func UCS2(s string) []byte {
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

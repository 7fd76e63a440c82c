package efi

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/drd-linux/drd/internal/golden"
)

// A Boot#### value worked out by hand from the UEFI specification
// (3.1.3 Load Options, 10.3.5.1 Hard Drive, 10.3.5.4 File Path).
const handLoadOption = "01000000" + "3800" + "41000000" +
	"04012a00" + "01000000" + "0008000000000000" + "0000040000000000" +
	"0403020106050807090a0b0c0d0e0f10" + "0202" +
	"04040a00" + "5c0042000000" +
	"7fff0400"

func TestLoadOptionByHand(t *testing.T) {
	o := LoadOption{Active: true, Description: "A", File: `\B`,
		Disk: HardDrive{Number: 1, Start: 0x800, Size: 0x40000, PartGUID: "01020304-0506-0708-090a-0b0c0d0e0f10"}}
	b, err := o.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(b); got != handLoadOption {
		t.Fatalf("encoded\n%s\nwant\n%s", got, handLoadOption)
	}
	back, err := DecodeLoadOption(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, o) {
		t.Errorf("round trip: %+v, want %+v", back, o)
	}
}

func TestLoadOptionGolden(t *testing.T) {
	o := LoadOption{Active: true, Description: "drd sysimage_001", File: `\EFI\debian\grubx64.efi`,
		Disk: HardDrive{Number: 2, Start: 4096, Size: 262144, PartGUID: "5a0e6a3c-64b2-4d1c-9c55-0e2b3b1f6a01"}}
	b, err := o.Encode()
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "Boot0003.bin"), b)
	back, err := DecodeLoadOption(b)
	if err != nil || !reflect.DeepEqual(back, o) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}

// TestLoadOptionFirmwareEntry decodes an entry with nodes drd does not
// know (OVMF's UEFI shell: a firmware volume file) and keeps them.
func TestLoadOptionFirmwareEntry(t *testing.T) {
	// "EFI Internal Shell": FvVol(7cb8bdc9-...)/FvFile(7c04a583-...), optional data.
	desc := UCS2("EFI Internal Shell")
	fv := "04071400" + "c9bdb87cebf8344faaea3ee4af6516a1"
	file := "04061400" + "83a5047c3e9e1c4fad65e05268d0b4d1"
	end := "7fff0400"
	path, _ := hex.DecodeString(fv + file + end)
	b := []byte{1, 0, 0, 0, byte(len(path)), 0}
	b = append(b, desc...)
	b = append(b, path...)
	b = append(b, 0x4e, 0xac, 0x08, 0x81) // optional data
	o, err := DecodeLoadOption(b)
	if err != nil {
		t.Fatal(err)
	}
	if o.Description != "EFI Internal Shell" || o.Disk.PartGUID != "" || len(o.Prefix) != 40 || len(o.Optional) != 4 {
		t.Errorf("decoded %+v", o)
	}
}

func TestLoadOptionRefuses(t *testing.T) {
	for _, b := range [][]byte{
		{1, 0},
		{1, 0, 0, 0, 8, 0, 'A', 0},           // description without its NUL
		{1, 0, 0, 0, 40, 0, 'A', 0, 0, 0},    // path longer than the rest
		{1, 0, 0, 0, 4, 0, 0, 0, 4, 4, 2, 0}, // node shorter than its header
	} {
		if _, err := DecodeLoadOption(b); err == nil {
			t.Errorf("% x decoded, want an error", b)
		}
	}
	if _, err := (LoadOption{Description: "x", File: "EFI", Disk: HardDrive{PartGUID: "01020304-0506-0708-090a-0b0c0d0e0f10"}}).Encode(); err == nil {
		t.Error("a path without a leading backslash encoded")
	}
	if _, err := (LoadOption{Description: "x", File: `\x`, Disk: HardDrive{PartGUID: "nope"}}).Encode(); err == nil {
		t.Error("a bad GUID encoded")
	}
}

func TestBootOrder(t *testing.T) {
	order := []uint16{3, 0, 0x1f}
	b := EncodeBootOrder(order)
	if hex.EncodeToString(b) != "030000001f00" {
		t.Errorf("BootOrder % x", b)
	}
	back, err := DecodeBootOrder(b)
	if err != nil || !reflect.DeepEqual(back, order) {
		t.Errorf("round trip %v, %v", back, err)
	}
	if _, err := DecodeBootOrder([]byte{1}); err == nil {
		t.Error("odd BootOrder decoded")
	}
}

func TestPlaceEntry(t *testing.T) {
	disk := HardDrive{Number: 1, PartGUID: "aaaaaaaa-0000-4000-8000-000000000001"}
	clone := HardDrive{Number: 2, PartGUID: "bbbbbbbb-0000-4000-8000-000000000002"}
	entries := map[uint16]LoadOption{
		0: {Description: "UEFI Shell"},
		1: {Description: "debian", Disk: disk, File: `\EFI\debian\grubx64.efi`},
		3: {Description: "old drd", Disk: clone, File: `\EFI\debian\grubx64.efi`},
	}
	for _, tt := range []struct {
		name      string
		want      LoadOption
		order     []uint16
		after     int
		num       uint16
		wantOrder []uint16
	}{
		{"reuse, no BootCurrent: last", LoadOption{Disk: clone, File: `\EFI\DEBIAN\grubx64.efi`}, []uint16{1, 0}, -1, 3, []uint16{1, 0, 3}},
		{"reuse, after the booted entry", LoadOption{Disk: clone, File: `\EFI\debian\grubx64.efi`}, []uint16{1, 0, 3}, 1, 3, []uint16{1, 3, 0}},
		{"new number, after the booted entry", LoadOption{Disk: clone, File: `\EFI\BOOT\BOOTX64.EFI`}, []uint16{1, 0}, 1, 2, []uint16{1, 2, 0}},
		{"booted entry not in BootOrder: last", LoadOption{Disk: clone, File: `\EFI\BOOT\BOOTX64.EFI`}, []uint16{1, 0}, 7, 2, []uint16{1, 0, 2}},
		{"the booted entry itself", LoadOption{Disk: disk, File: `\EFI\debian\grubx64.efi`}, []uint16{0, 1}, 1, 1, []uint16{0, 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			num, order := PlaceEntry(entries, tt.order, tt.want, tt.after)
			if num != tt.num || !reflect.DeepEqual(order, tt.wantOrder) {
				t.Errorf("PlaceEntry = %d %v, want %d %v", num, order, tt.num, tt.wantOrder)
			}
		})
	}
}

// TestLoadOptionFullPath: PciRoot(0x0)/Pci(0x3,0x0)/HD(...)/File(...), as
// efibootmgr prints a full path; worked out by hand from the spec (10.3.2.1
// PCI, 10.3.3 ACPI).
func TestLoadOptionFullPath(t *testing.T) {
	prefix, err := PCIPath("/sys/devices/pci0000:00/0000:00:03.0/virtio2/block/vdc")
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(prefix); got != "02010c00d041030a00000000"+"010106000003" {
		t.Fatalf("PCIPath = %s", got)
	}
	behind, _ := PCIPath("/sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/nvme/nvme0")
	if hex.EncodeToString(behind) != "02010c00d041030a00000000"+"01010600001c"+"010106000000" {
		t.Errorf("PCIPath behind a bridge = %x", behind)
	}
	if _, err := PCIPath("/sys/devices/virtual/block/loop0"); err == nil {
		t.Error("a loop device has a PCI path")
	}
	o := LoadOption{Active: true, Description: "A", File: `\B`, Prefix: prefix,
		Disk: HardDrive{Number: 1, Start: 0x800, Size: 0x40000, PartGUID: "01020304-0506-0708-090a-0b0c0d0e0f10"}}
	b, err := o.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeLoadOption(b)
	if err != nil || !reflect.DeepEqual(back, o) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}

// FuzzDecodeLoadOption: a Boot#### variable is the firmware's, written by
// anyone: decoding never panics, and what decodes encodes back to a value
// that decodes the same.
func FuzzDecodeLoadOption(f *testing.F) {
	hand, _ := hex.DecodeString(handLoadOption)
	f.Add(hand)
	if golden, err := os.ReadFile("testdata/Boot0003.bin"); err == nil {
		f.Add(golden)
	}
	f.Add([]byte{1, 0, 0, 0, 4, 0, 'S', 0, 0, 0, 0x7f, 0xff, 4, 0})
	f.Add([]byte{1, 0, 0, 0, 40, 0, 'A', 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := DecodeLoadOption(b)
		if err != nil || o.Disk.PartGUID == "" || !strings.HasPrefix(o.File, `\`) {
			return
		}
		enc, err := o.Encode()
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", o, err)
		}
		back, err := DecodeLoadOption(enc)
		if err != nil {
			t.Fatalf("re-encoded %+v does not decode: %v", o, err)
		}
		if !reflect.DeepEqual(back.Disk, o.Disk) || back.File != o.File || back.Description != o.Description || back.Active != o.Active {
			t.Errorf("round trip: %+v, want %+v", back, o)
		}
	})
}

// FuzzDecodeBootOrder: BootOrder decodes to len/2 entries or fails, and
// encodes back to the same bytes.
func FuzzDecodeBootOrder(f *testing.F) {
	f.Add([]byte{3, 0, 0, 0, 0x1f, 0})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		order, err := DecodeBootOrder(b)
		if err != nil {
			if len(b)%2 == 0 {
				t.Fatalf("% x: %v", b, err)
			}
			return
		}
		if !bytes.Equal(EncodeBootOrder(order), b) && len(b) > 0 {
			t.Errorf("% x decodes to %v, encodes to % x", b, order, EncodeBootOrder(order))
		}
	})
}

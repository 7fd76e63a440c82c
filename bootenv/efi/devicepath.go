package efi

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"
)

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

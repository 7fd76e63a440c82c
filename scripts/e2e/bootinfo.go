package e2e

import (
	"fmt"
	"strings"
)

// BootInfo is what the guest booted from.
type BootInfo struct {
	RootSource string // findmnt's source of /: /dev/vda4, /dev/mapper/sysvg-root
	RootDisk   string // the whole disk under it: /dev/vda
	RootSerial string // that disk's serial: drdsys, drdtarget
	Cmdline    string // /proc/cmdline
	EFI        bool   // booted by UEFI firmware
	BootID     string
}

// bootInfoScript prints what parseBootInfo reads.
const bootInfoScript = `src=$(findmnt -no SOURCE /)
echo "source=$src"
lsblk -nrso NAME,TYPE,SERIAL "$src" | while read -r name type serial; do
	if [ "$type" = disk ]; then echo "disk=/dev/$name"; echo "serial=$serial"; fi
done
echo "cmdline=$(cat /proc/cmdline)"
if [ -d /sys/firmware/efi ]; then echo efi=1; fi
echo "boot_id=$(cat /proc/sys/kernel/random/boot_id)"
`

// parseBootInfo reads the output of bootInfoScript.
func parseBootInfo(out string) (BootInfo, error) {
	var b BootInfo
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "source":
			b.RootSource = v
		case "disk":
			if b.RootDisk != "" && b.RootDisk != v {
				return b, fmt.Errorf("/ (%s) spans disks %s and %s", b.RootSource, b.RootDisk, v)
			}
			b.RootDisk = v
		case "serial":
			b.RootSerial = v
		case "cmdline":
			b.Cmdline = v
		case "efi":
			b.EFI = v == "1"
		case "boot_id":
			b.BootID = v
		}
	}
	if b.RootSource == "" || b.RootDisk == "" {
		return b, fmt.Errorf("cannot tell the root device from:\n%s", out)
	}
	return b, nil
}

// BootInfo tells which disk and device the guest booted from.
func (vm *VM) BootInfo() BootInfo {
	vm.t.Helper()
	out := vm.MustRun(bootInfoScript)
	b, err := parseBootInfo(out)
	if err != nil {
		vm.t.Fatalf("VM %s: %v", vm.Name, err)
	}
	return b
}

package efi_test

import (
	"fmt"
	"os"

	"github.com/drd-linux/drd/bootenv/efi"
)

// A clone's entry goes right after the entry the machine booted from, in
// variables kept in a directory: never a real firmware's.
func ExampleAddBootEntry() {
	dir, err := os.MkdirTemp("", "efivars-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	v, err := efi.NewDirVars(dir)
	if err != nil {
		panic(err)
	}
	booted, _ := efi.LoadOption{Active: true, Description: "debian", File: `\EFI\debian\grubx64.efi`,
		Disk: efi.HardDrive{Number: 1, Start: 2048, Size: 1 << 20, PartGUID: "aaaaaaaa-0000-4000-8000-000000000001"}}.Encode()
	v.Set("Boot0000", booted)
	v.Set("BootCurrent", efi.EncodeBootOrder([]uint16{0}))
	v.Set("BootOrder", efi.EncodeBootOrder([]uint16{0, 7}))

	clone := efi.HardDrive{Number: 2, Start: 4096, Size: 262144, PartGUID: "bbbbbbbb-0000-4000-8000-000000000002"}
	num, order, err := efi.AddBootEntry(v, "drd sysimage_001", nil, clone, `\EFI\debian\grubx64.efi`)
	if err != nil {
		panic(err)
	}
	fmt.Println(efi.BootVar(num), efi.BootOrderText(order))
	if err := efi.SetBootNext(v, num); err != nil {
		panic(err)
	}
	next, _ := v.Get("BootNext")
	fmt.Printf("BootNext % x\n", next)
	// Output:
	// Boot0001 0000,0001,0007
	// BootNext 01 00
}

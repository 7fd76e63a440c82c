package e2e

import (
	"reflect"
	"testing"
)

// What efibootmgr -v printed in the UEFI VM after drd clone (and a
// BootNext line as drd activate -x trial=true leaves it).
const efiBootMgrOut = "BootCurrent: 0001\n" +
	"BootNext: 0004\n" +
	"Timeout: 0 seconds\n" +
	"BootOrder: 0001,0004,0002,0000,0003\n" +
	"Boot0000* UiApp\tFvVol(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/FvFile(462caa21-7614-4503-836e-8ab6f4662331)\n" +
	"Boot0001* debian\tHD(1,GPT,a7d93b23-4911-49df-96fd-ddd48f9f8f67,0x800,0x40000)/File(\\EFI\\debian\\grubx64.efi)\n" +
	"Boot0002* UEFI Misc Device\tPciRoot(0x0)/Pci(0x10,0x0)N.....YM....R,Y.\n" +
	"Boot0003  EFI Internal Shell\tFvVol(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/FvFile(7c04a583-9e3e-4f1c-ad65-e05268d0b4d1)\n" +
	"Boot0004* drd sysimage_001\tPciRoot(0x0)/Pci(0x12,0x0)/HD(2,GPT,8d18b625-0e90-4a85-bebf-d83040683b9e,0x1000,0x40000)/File(\\EFI\\debian\\grubx64.efi)\n"

func TestParseEFIBootMgr(t *testing.T) {
	b := parseEFIBootMgr(efiBootMgrOut)
	if b.Current != "0001" || b.Next != "0004" || !reflect.DeepEqual(b.Order, []string{"0001", "0004", "0002", "0000", "0003"}) {
		t.Errorf("current %q next %q order %v", b.Current, b.Next, b.Order)
	}
	if b.Entry("drd sysimage_001") != "0004" || b.Entry("EFI Internal Shell") != "0003" || b.Entry("UEFI Misc Device") != "0002" || b.Entry("nope") != "" {
		t.Errorf("entries %v", b.Desc)
	}
	if b.Place("0004") != 1 || b.Place("0009") != -1 {
		t.Errorf("places of 0004, 0009: %d %d", b.Place("0004"), b.Place("0009"))
	}
	if b := parseEFIBootMgr("BootCurrent: 0002\nBootOrder: 0002\nBoot0002* debian\n"); b.Next != "" || b.Desc["0002"] != "debian" {
		t.Errorf("without BootNext and -v: %+v", b)
	}
}

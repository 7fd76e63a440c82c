package e2e

import "testing"

func TestISLReply(t *testing.T) {
	for _, c := range []struct{ raw, cmd, want string }{
		{"list\r\nIMAGE  DISK\r\nsysimage_000  /dev/vda\r\n", "list", "IMAGE  DISK\nsysimage_000  /dev/vda\n"},
		{"\x1b[0mstatus\r\nBoot target:  sysimage_001\r\n", "status", "Boot target:  sysimage_001\n"},
		// No echo (a console that does not echo): the answer as it came.
		{"error: unknown command \"x\"\r\n", "x y", "error: unknown command \"x\"\n"},
	} {
		if got := islReply(c.raw, c.cmd); got != c.want {
			t.Errorf("islReply(%q, %q) = %q, want %q", c.raw, c.cmd, got, c.want)
		}
	}
}

func TestISLFirmwareEntry(t *testing.T) {
	out := "BootOrder: 0001,0007,0008,0009\n" +
		"Boot0007* drd sysimage_001\tPciRoot(0x0)/Pci(0x12,0x0)/HD(2,GPT,7b5a83dc-a5c0-467b-80b0-bae25f8c4bf0,0x1000,0x40000)/File(\\EFI\\debian\\grubx64.efi)\n" +
		"Boot0008* drd recovery (STAGEISL)\tPciRoot(0x0)/Pci(0x12,0x0)/HD(2,GPT,7b5a83dc-a5c0-467b-80b0-bae25f8c4bf0,0x1000,0x40000)/File(\\EFI\\drd\\vmlinuz.efi)i.n.i.t.r.d.\n" +
		"Boot0009* drd recovery (STAGEISL)\tPciRoot(0x0)/Pci(0x10,0x0)/HD(1,GPT,a7d93b23-4911-49df-96fd-ddd48f9f8f67,0x800,0x40000)/File(\\EFI\\drd\\vmlinuz.efi)i.n.i.t.r.d.\n"
	if got := islFirmwareEntry(out, "A7D93B23-4911-49DF-96FD-DDD48F9F8F67"); got != "0009" {
		t.Errorf("entry on the original's ESP: %q, want 0009", got)
	}
	if got := islFirmwareEntry(out, "7b5a83dc-a5c0-467b-80b0-bae25f8c4bf0"); got != "0008" {
		t.Errorf("entry on the clone's ESP: %q, want 0008", got)
	}
	if got := islFirmwareEntry(out, "00000000-0000-0000-0000-000000000000"); got != "" {
		t.Errorf("no entry on that ESP: got %q", got)
	}
}

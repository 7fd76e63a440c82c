package e2e

import "testing"

func TestParseBootInfo(t *testing.T) {
	b, err := parseBootInfo("source=/dev/mapper/sysvg-root\ndisk=/dev/vdc\nserial=drdtarget\ncmdline=BOOT_IMAGE=/vmlinuz root=/dev/mapper/sysvg-root ro\nefi=1\nboot_id=abc\n")
	if err != nil {
		t.Fatal(err)
	}
	want := BootInfo{RootSource: "/dev/mapper/sysvg-root", RootDisk: "/dev/vdc", RootSerial: "drdtarget",
		Cmdline: "BOOT_IMAGE=/vmlinuz root=/dev/mapper/sysvg-root ro", EFI: true, BootID: "abc"}
	if b != want {
		t.Errorf("parseBootInfo = %+v, want %+v", b, want)
	}
	if _, err := parseBootInfo("source=/dev/md0\ndisk=/dev/vda\ndisk=/dev/vdb\n"); err == nil {
		t.Error("a root on two disks was accepted")
	}
	if _, err := parseBootInfo("source=\n"); err == nil {
		t.Error("empty output was accepted")
	}
}

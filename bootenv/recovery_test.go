package bootenv

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drd-linux/drd/bootenv/efi"
)

func TestRecoveryCmdline(t *testing.T) {
	for in, want := range map[string]string{
		"BOOT_IMAGE=/vmlinuz-6.1.0-28-amd64 root=UUID=2a2a ro console=tty0 console=ttyS0,115200 quiet": "console=tty0 console=ttyS0,115200",
		"root=/dev/vda2 ro quiet":                   "",
		"console=ttyS0 root=/dev/vda2 console=tty1": "console=ttyS0 console=tty1",
	} {
		if got := RecoveryCmdline(in); got != want {
			t.Errorf("RecoveryCmdline(%q) = %q, want %q", in, got, want)
		}
	}
	if got, want := RecoveryLoadOptions("console=ttyS0"), `initrd=\EFI\drd\isl.img initrd=\EFI\drd\modules.img console=ttyS0`; got != want {
		t.Errorf("RecoveryLoadOptions = %q, want %q", got, want)
	}
}

// TestPutRecoveryEntry writes STAGEISL's entry into UEFI variables in a
// directory: last in BootOrder, or rewritten where it is; never first.
func TestPutRecoveryEntry(t *testing.T) {
	hd := efi.HardDrive{Number: 1, PartGUID: "aaaaaaaa-1111-4111-8111-111111111111"}
	want := recoveryEntry(nil, hd, "console=ttyS0")
	grub := efi.LoadOption{Description: "debian", Disk: hd, File: `\EFI\debian\grubx64.efi`}
	other := efi.LoadOption{Description: "other disk", Disk: efi.HardDrive{PartGUID: "bbbbbbbb-1111-4111-8111-111111111111"}, File: want.File}
	for _, tt := range []struct {
		name      string
		entries   map[uint16]efi.LoadOption
		order     []uint16
		wantNum   uint16
		wantOrder []uint16
	}{
		{"new, last", map[uint16]efi.LoadOption{0: grub, 1: other}, []uint16{1, 0}, 2, []uint16{1, 0, 2}},
		{"a free number not in BootOrder", map[uint16]efi.LoadOption{1: grub}, []uint16{1, 0}, 2, []uint16{1, 0, 2}},
		{"rewritten in place", map[uint16]efi.LoadOption{0: grub, 4: want}, []uint16{0, 4, 1}, 4, []uint16{0, 4, 1}},
		{"back into BootOrder, last", map[uint16]efi.LoadOption{0: grub, 4: want}, []uint16{0}, 4, []uint16{0, 4}},
	} {
		v := efiVars(t, tt.entries, tt.order)
		num, err := putRecoveryEntry(v, want)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		entries, order, err := efi.BootEntries(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := entries[num]; got.File != want.File || got.Disk != hd || string(got.Optional) != string(want.Optional) {
			t.Errorf("%s: Boot%04X = %+v", tt.name, num, got)
		}
		if num != tt.wantNum || !slices.Equal(order, tt.wantOrder) {
			t.Errorf("%s: Boot%04X, BootOrder %v; want Boot%04X, %v", tt.name, num, order, tt.wantNum, tt.wantOrder)
		}
	}
	if !isRecoveryEntry(want) || isRecoveryEntry(grub) || !isRecoveryEntry(efi.LoadOption{File: `\efi\DRD\vmlinuz.efi`}) {
		t.Error("isRecoveryEntry tells STAGEISL's entry from GRUB's wrongly")
	}
}

// A menu entry must never boot a file that is missing: an install that
// stopped half-way has no entry.
func TestReadRecoveryNeedsEveryFile(t *testing.T) {
	top := t.TempDir()
	files := map[string][]byte{RecoveryKernel: []byte("k"), RecoveryISL: []byte("i"), RecoveryModules: []byte("m")}
	rec := Recovery{Kernel: "6.1.0-28-amd64", Cmdline: "console=ttyS0", Installed: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	if err := writeRecovery(top, "/boot", files, rec); err != nil {
		t.Fatal(err)
	}
	if got := readRecovery(top, "/boot"); got == nil || *got != rec {
		t.Fatalf("readRecovery = %+v, want %+v", got, rec)
	}
	if readRecovery(top, "/") != nil {
		t.Error("found in boot/drd of a root file system what is in drd/ of a /boot")
	}
	os.Remove(filepath.Join(top, RecoveryDir, RecoveryModules))
	if got := readRecovery(top, "/boot"); got != nil {
		t.Errorf("an install without %s reads as %+v", RecoveryModules, got)
	}
	if err := writeRecovery(top, "/boot", map[string][]byte{RecoveryKernel: nil}, rec); err == nil {
		t.Error("writeRecovery wrote an incomplete install")
	}
}

// Activating an image puts its own loader first, never STAGEISL's entry
// on the same ESP, even when that comes first in BootOrder.
func TestImageEntrySkipsRecovery(t *testing.T) {
	hd := efi.HardDrive{Number: 1, PartGUID: "aaaaaaaa-1111-4111-8111-111111111111"}
	entries := map[uint16]efi.LoadOption{
		0: recoveryEntry(nil, hd, ""),
		1: {Description: "other", Disk: efi.HardDrive{PartGUID: "bbbbbbbb-1111-4111-8111-111111111111"}, File: `\EFI\debian\grubx64.efi`},
		2: {Description: "debian", Disk: hd, File: `\EFI\debian\grubx64.efi`},
	}
	if n, ok := imageEntry(entries, []uint16{0, 1, 2}, strings.ToUpper(hd.PartGUID)); !ok || n != 2 {
		t.Errorf("imageEntry = Boot%04X, %v; want Boot0002", n, ok)
	}
	if n, ok := imageEntry(entries, []uint16{0, 1}, hd.PartGUID); ok {
		t.Errorf("imageEntry took Boot%04X, with only STAGEISL's entry on the ESP in BootOrder", n)
	}
}

// efiVars is a store in a temporary directory with entries and BootOrder.
func efiVars(t *testing.T, entries map[uint16]efi.LoadOption, order []uint16) efi.DirVars {
	t.Helper()
	v, err := efi.NewDirVars(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for n, e := range entries {
		b, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Set(efi.BootVar(n), b); err != nil {
			t.Fatal(err)
		}
	}
	if order != nil {
		if err := v.Set("BootOrder", efi.EncodeBootOrder(order)); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

package e2e

import (
	"testing"
)

// The UEFI side of the activate scenario: which Boot#### entry the
// firmware booted, what BootOrder starts with, and BootNext.

// efiEntryOf is the description of image's Boot#### entry: the
// installer's "debian" for the original, drd's own for a clone.
func efiEntryOf(image string) string {
	if image == "sysimage_000" {
		return "debian"
	}
	return "drd " + image
}

// wantEFI checks, on a UEFI layout, that the firmware booted the entry
// of image current, that BootOrder starts with the entry of image first
// and that BootNext names the entry of image next ("": current or first
// not checked; next unset). It does nothing on BIOS.
func wantEFI(t *testing.T, vm *VM, l Layout, why, current, first, next string) {
	t.Helper()
	if l.Firmware != UEFI {
		return
	}
	out := vm.MustRun("efibootmgr -v")
	b := parseEFIBootMgr(out)
	check := func(what, image, got string) {
		if image == "" {
			return
		}
		if want := b.Entry(efiEntryOf(image)); want == "" || got != want {
			t.Fatalf("%s: %s is %q, want Boot%s (%s)\n%s", why, what, got, want, efiEntryOf(image), out)
		}
	}
	check("BootCurrent", current, b.Current)
	if len(b.Order) == 0 {
		t.Fatalf("%s: no BootOrder\n%s", why, out)
	}
	check("BootOrder's first entry", first, b.Order[0])
	if next == "" && b.Next != "" {
		t.Fatalf("%s: BootNext is %s, want none\n%s", why, b.Next, out)
	}
	check("BootNext", next, b.Next)
	t.Logf("%s: BootCurrent %s, BootOrder %v, BootNext %q", why, b.Current, b.Order, b.Next)
}

// wantCloneEntryNext checks, on UEFI, that drd clone put the clone's
// entry right after the one the firmware booted: if that disk is gone,
// the firmware tries the clone before any network or shell entry.
func wantCloneEntryNext(t *testing.T, vm *VM, l Layout, clone string) {
	t.Helper()
	if l.Firmware != UEFI {
		return
	}
	out := vm.MustRun("efibootmgr -v")
	b := parseEFIBootMgr(out)
	n := b.Entry(efiEntryOf(clone))
	if n == "" || b.Place(b.Current) < 0 || b.Place(n) != b.Place(b.Current)+1 {
		t.Fatalf("after drd clone: the entry of %s (%q) is not right after BootCurrent %s in BootOrder\n%s", clone, n, b.Current, out)
	}
	t.Logf("after drd clone: BootOrder %v, %s is Boot%s", b.Order, clone, n)
}

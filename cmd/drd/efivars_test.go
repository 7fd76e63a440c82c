package main

import (
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv/efi"
)

func TestEFIChoice(t *testing.T) {
	for _, tt := range []struct {
		mode, root string
		open       bool
		says       string
	}{
		{efiAuto, "/", true, ""},
		{efiAuto, "/mnt/sysimage", false, "--root /mnt/sysimage"},
		{efiHost, "/mnt/sysimage", true, ""},
		{efiHost, "/", true, ""},
		{efiNone, "/", false, "efi_vars=none"},
	} {
		open, says := efiChoice(tt.mode, tt.root)
		if open != tt.open || tt.says == "" && says != "" || !strings.Contains(says, tt.says) {
			t.Errorf("efiChoice(%s, %s) = %v, %q; want %v, %q", tt.mode, tt.root, open, says, tt.open, tt.says)
		}
	}
}

// TestRootLeavesFirmware: with --root, clone, activate, deactivate,
// boot-check and isl install never open this machine's UEFI variables,
// and say so; -x efi_vars=host gives them, and fails (exit 1) where the
// machine has none.
func TestRootLeavesFirmware(t *testing.T) {
	host, err := efi.NewDirVars(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"clone", "-t", "/dev/vdb"},
		{"activate", "sysimage_001"},
		{"deactivate"},
		{"boot-check"},
		{"isl", "install"},
	} {
		name := strings.Join(args, " ")
		f := &fake{host: host}
		code, _, stderr := drd(t, f, t.TempDir(), args...)
		if code != 0 || f.opened != 0 || len(f.efi) != 1 || f.efi[0] != nil {
			t.Errorf("%s with --root: exit %d, host opened %d times, engines got %v", name, code, f.opened, f.efi)
		}
		if !strings.Contains(stderr, "-x efi_vars=host writes them") {
			t.Errorf("%s with --root does not say what it skipped", name)
		}

		f = &fake{host: host}
		code, _, _ = drd(t, f, t.TempDir(), append(args, "-x", "efi_vars=host")...)
		if code != 0 || f.opened != 1 || len(f.efi) != 1 || f.efi[0] != efi.Vars(host) {
			t.Errorf("%s -x efi_vars=host: exit %d, host opened %d times, engines got %v", name, code, f.opened, f.efi)
		}

		f = &fake{}
		code, _, stderr = drd(t, f, t.TempDir(), append(args, "-x", "efi_vars=host")...)
		if code != 1 || len(f.efi) != 0 || !strings.Contains(stderr, "-x efi_vars=host: statfs") {
			t.Errorf("%s -x efi_vars=host without efivarfs: exit %d, engines got %v", name, code, f.efi)
		}
	}
}

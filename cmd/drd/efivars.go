package main

import (
	"context"
	"fmt"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/bootenv/efi"
	"github.com/drd-linux/drd/internal/options"
	"github.com/drd-linux/drd/internal/report"
)

// Whose UEFI variables a command may write (-x efi_vars=).
const (
	efiAuto = "auto" // this machine's when drd acts on its running system (--root /), else none
	efiHost = "host" // this machine's, also with --root: rescue media booted on the same machine
	efiNone = "none" // none: BootOrder, BootNext and Boot#### stay as they are
)

// efiVarsSpec is the extended option of every command that may change the
// firmware's choice: clone, activate, deactivate, isl install, boot-check.
var efiVarsSpec = options.Spec{Name: "efi_vars", Type: options.String, Default: efiAuto,
	Choices: []string{efiAuto, efiHost, efiNone},
	Help:    "whose UEFI variables (Boot####, BootOrder, BootNext) drd writes: auto (this machine's, unless --root is not /), host (this machine's, also with --root: rescue media booted on it), none"}

// efiChoice decides from -x efi_vars= and --root whether the command
// opens this machine's UEFI variables, and what it says when it does not
// ("" for nothing to say).
func efiChoice(mode, root string) (open bool, skipped string) {
	switch {
	case mode == efiNone:
		return false, "UEFI variables left alone (-x efi_vars=none): no Boot####, BootOrder or BootNext is written"
	case mode == efiAuto && root != "/":
		return false, fmt.Sprintf("UEFI variables of this machine left alone (--root %s): no Boot####, BootOrder or BootNext is written; -x efi_vars=host writes them (rescue media booted on this machine)", root)
	}
	return true, ""
}

// firmwareVars is the UEFI variable store the command may write, or nil
// for none, as efiChoice decides; it tells the administrator what is
// skipped. Only here does drd reach the real machine's firmware.
func firmwareVars(inv *invocation) (efi.Vars, error) {
	mode := inv.opts.String("efi_vars")
	open, skipped := efiChoice(mode, inv.root)
	if !open {
		inv.r.Step("%s", skipped)
		return nil, nil
	}
	v, err := inv.sys.hostEFI()
	if err != nil {
		if mode == efiHost {
			return nil, fmt.Errorf("-x efi_vars=host: %w", err)
		}
		inv.r.Note("no UEFI variables on this machine (%v): BIOS boot only", err)
		return nil, nil
	}
	return v, nil
}

// openHostEFI opens this machine's UEFI variables: efivarfs at
// efi.HostVarDir, an error on a BIOS machine or where it is not mounted.
func openHostEFI() (efi.Vars, error) {
	v, err := efi.OpenVarFS(efi.HostVarDir)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// activateOn and bootCheckOn run drd activate and the boot-time pass on
// m, the machine with the UEFI variables firmwareVars chose.
func activateOn(ctx context.Context, m bootenv.Machine, opt bootenv.ActivateOptions, r report.Reporter) error {
	return m.Activate(ctx, opt, r)
}

func bootCheckOn(ctx context.Context, m bootenv.Machine, opt bootenv.CheckOptions, r report.Reporter) error {
	return m.BootCheck(ctx, opt, r)
}

// machine is the real machine with the image's root at --root and the
// UEFI variables -x efi_vars= allows.
func machine(inv *invocation) (bootenv.Machine, error) {
	m := bootenv.Real(inv.root)
	v, err := firmwareVars(inv)
	if err != nil {
		return m, err
	}
	m.EFI = v
	return m, nil
}

package bootenv

import (
	"github.com/drd-linux/drd/internal/report"
)

// installRecoveryEFI: see recovery_efi.go's full version (UEFI).
func (m Machine) installRecoveryEFI(st *Status, files map[string][]byte, rec Recovery, preview bool, r report.Reporter) error {
	if m.efiVars() == nil {
		return nil
	}
	r.Warn("UEFI: no firmware entry for STAGEISL yet; boot it from GRUB's menu")
	return nil
}

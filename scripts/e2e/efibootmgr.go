package e2e

import (
	"slices"
	"strings"
)

// EFIBoot is what efibootmgr shows of a UEFI guest's boot variables.
type EFIBoot struct {
	Current, Next string            // entry numbers: "0001"; "" if unset
	Order         []string          // BootOrder
	Desc          map[string]string // entry number → description
}

// parseEFIBootMgr reads the output of efibootmgr (with or without -v).
func parseEFIBootMgr(out string) EFIBoot {
	b := EFIBoot{Desc: map[string]string{}}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ": ")
		switch {
		case ok && k == "BootCurrent":
			b.Current = strings.TrimSpace(v)
		case ok && k == "BootNext":
			b.Next = strings.TrimSpace(v)
		case ok && k == "BootOrder":
			b.Order = strings.Split(strings.TrimSpace(v), ",")
		case len(line) > 8 && strings.HasPrefix(line, "Boot") && (line[8] == '*' || line[8] == ' '):
			desc, _, _ := strings.Cut(strings.TrimSpace(line[9:]), "\t")
			b.Desc[line[4:8]] = strings.TrimSpace(desc)
		}
	}
	return b
}

// Entry is the number of the entry described desc, or "".
func (b EFIBoot) Entry(desc string) string {
	for n, d := range b.Desc {
		if d == desc {
			return n
		}
	}
	return ""
}

// Place is where entry n is in BootOrder (0 first), or -1.
func (b EFIBoot) Place(n string) int { return slices.Index(b.Order, n) }

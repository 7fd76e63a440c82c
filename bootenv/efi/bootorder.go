package efi

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// EncodeBootOrder writes BootOrder: 16-bit entry numbers, little endian.
func EncodeBootOrder(order []uint16) []byte {
	b := make([]byte, 2*len(order))
	for i, n := range order {
		binary.LittleEndian.PutUint16(b[2*i:], n)
	}
	return b
}

// DecodeBootOrder reads BootOrder.
func DecodeBootOrder(b []byte) ([]uint16, error) {
	if len(b)%2 != 0 {
		return nil, fmt.Errorf("BootOrder of %d bytes: want an even number", len(b))
	}
	order := make([]uint16, len(b)/2)
	for i := range order {
		order[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return order, nil
}

// BootVar is the name of entry n: Boot0003.
func BootVar(n uint16) string { return fmt.Sprintf("Boot%04X", n) }

// PlaceEntry decides where a boot entry goes: the number of an entry
// that boots the same file from the same partition (then it is rewritten),
// else the lowest free number; and BootOrder with that number in it, right
// after entry number after (PlaceAfter; -1 for none).
func PlaceEntry(entries map[uint16]LoadOption, order []uint16, want LoadOption, after int) (uint16, []uint16) {
	num := uint16(0)
	found := false
	for _, n := range sortedNums(entries) {
		e := entries[n]
		if strings.EqualFold(e.Disk.PartGUID, want.Disk.PartGUID) && strings.EqualFold(e.File, want.File) {
			num, found = n, true
			break
		}
	}
	if !found {
		for _, taken := entries[num]; taken || slices.Contains(order, num); _, taken = entries[num] {
			num++
		}
	}
	return num, PlaceAfter(order, num, after)
}

// PlaceAfter puts num right after entry number after in order. If after
// is not in order (or -1), num keeps its place, or is appended if missing.
func PlaceAfter(order []uint16, num uint16, after int) []uint16 {
	i := slices.Index(order, uint16(after))
	if after < 0 || after > 0xffff || i < 0 || int(num) == after {
		return Reorder(order, num, false)
	}
	var out []uint16
	for _, n := range order {
		if n == num {
			continue
		}
		out = append(out, n)
		if int(n) == after {
			out = append(out, num)
		}
	}
	return out
}

// Reorder puts num first in order (first), or appends it if missing.
func Reorder(order []uint16, num uint16, first bool) []uint16 {
	if !first {
		if slices.Contains(order, num) {
			return slices.Clone(order)
		}
		return append(slices.Clone(order), num)
	}
	out := []uint16{num}
	for _, n := range order {
		if n != num {
			out = append(out, n)
		}
	}
	return out
}

func sortedNums(m map[uint16]LoadOption) []uint16 {
	var ns []uint16
	for n := range m {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

// BootOrderText is order as efibootmgr shows it: 0001,0004,0003.
func BootOrderText(order []uint16) string {
	s := make([]string, len(order))
	for i, n := range order {
		s[i] = fmt.Sprintf("%04X", n)
	}
	return strings.Join(s, ",")
}

package efi

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// grubPath is where Debian's GRUB is on an ESP.
const grubPath = `\EFI\debian\grubx64.efi`

// dirVars is an empty store in a temporary directory.
func dirVars(t *testing.T) DirVars {
	t.Helper()
	v, err := NewDirVars(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestAddBootEntry adds a clone's entry to firmware variables laid out
// as efivarfs: it lands right after BootCurrent, and a second add
// rewrites it in place.
func TestAddBootEntry(t *testing.T) {
	v := dirVars(t)
	orig, _ := LoadOption{Active: true, Description: "debian", Disk: HardDrive{Number: 1, PartGUID: "aaaaaaaa-0000-4000-8000-000000000001"}, File: grubPath}.Encode()
	for name, val := range map[string][]byte{
		"BootCurrent": EncodeBootOrder([]uint16{1}),
		"BootOrder":   EncodeBootOrder([]uint16{1, 0, 2}),
		"Boot0001":    orig,
		"Boot0000":    {1, 0, 0, 0, 4, 0, 'S', 0, 0, 0, 0x7f, 0xff, 4, 0}, // "S", an empty device path
	} {
		if err := v.Set(name, val); err != nil {
			t.Fatal(err)
		}
	}
	hd := HardDrive{Number: 2, Start: 4096, Size: 262144, PartGUID: "bbbbbbbb-0000-4000-8000-000000000002"}
	for i := 0; i < 2; i++ {
		num, order, err := AddBootEntry(v, "drd sysimage_001", nil, hd, grubPath)
		if err != nil {
			t.Fatal(err)
		}
		if num != 3 || BootOrderText(order) != "0001,0003,0000,0002" {
			t.Fatalf("add %d: %s, BootOrder %s; want Boot0003, 0001,0003,0000,0002", i+1, BootVar(num), BootOrderText(order))
		}
		entries, stored, err := BootEntries(v)
		if err != nil || !reflect.DeepEqual(stored, order) || len(entries) != 3 {
			t.Fatalf("add %d: stored BootOrder %v, %d entries (%v), returned %v", i+1, stored, len(entries), err, order)
		}
		if e := entries[3]; e.Disk != hd || e.File != grubPath || e.Description != "drd sysimage_001" {
			t.Errorf("add %d: Boot0003 = %+v", i+1, e)
		}
	}
}

// TestDirVars writes and reads variables in a directory laid out as
// efivarfs: name-GUID files with 4 attribute bytes.
func TestDirVars(t *testing.T) {
	v := dirVars(t)
	o := LoadOption{Active: true, Description: "drd sysimage_001", File: `\EFI\debian\grubx64.efi`,
		Disk: HardDrive{Number: 2, Start: 4096, Size: 262144, PartGUID: "5a0e6a3c-64b2-4d1c-9c55-0e2b3b1f6a01"}}
	b, _ := o.Encode()
	if err := v.Set(BootVar(0x1a), b); err != nil {
		t.Fatal(err)
	}
	if err := v.Set("BootOrder", EncodeBootOrder([]uint16{0x1a})); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(v.Dir(), "Boot001A-"+GlobalGUID))
	if err != nil || raw[0] != 7 || raw[1] != 0 {
		t.Fatalf("Boot001A file: % x, %v", raw[:4], err)
	}
	entries, order, err := BootEntries(v)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(order, []uint16{0x1a}) || !reflect.DeepEqual(entries[0x1a], o) || len(entries) != 1 {
		t.Errorf("BootEntries = %v %v", entries, order)
	}
	if err := v.Delete("BootOrder"); err != nil {
		t.Fatal(err)
	}
	if err := v.Delete("BootNext"); err != nil {
		t.Errorf("deleting a missing variable: %v", err)
	}
	if _, order, _ := BootEntries(v); len(order) != 0 {
		t.Errorf("BootOrder %v after Delete", order)
	}
}

// TestDirVarsShorterValue: a value shorter than the one before replaces
// it whole (a plain file is not efivarfs: without truncation the old
// value's tail would stay and BootOrder would gain entries).
func TestDirVarsShorterValue(t *testing.T) {
	v := dirVars(t)
	if err := v.Set("BootOrder", EncodeBootOrder([]uint16{1, 2, 3})); err != nil {
		t.Fatal(err)
	}
	if err := v.Set("BootOrder", EncodeBootOrder([]uint16{4})); err != nil {
		t.Fatal(err)
	}
	b, err := v.Get("BootOrder")
	if err != nil {
		t.Fatal(err)
	}
	if order, _ := DecodeBootOrder(b); !reflect.DeepEqual(order, []uint16{4}) {
		t.Errorf("BootOrder after a shorter write = %v, want [4]", order)
	}
}

// TestOpenVarFSRefusesPlainDir: the real store opens efivarfs only, so a
// directory that merely looks like it is never taken for the firmware.
func TestOpenVarFSRefusesPlainDir(t *testing.T) {
	dir := t.TempDir()
	_, err := OpenVarFS(dir)
	if err == nil || !strings.Contains(err.Error(), "not efivarfs") {
		t.Errorf("OpenVarFS(%s) = %v, want: not efivarfs", dir, err)
	}
	if _, err := OpenVarFS(filepath.Join(dir, "missing")); err == nil {
		t.Error("OpenVarFS of a missing directory succeeded")
	}
}

// TestNewDirVarsRefusesFirmware: the test store never lands on the
// kernel's variables, whether the machine has them or not.
func TestNewDirVarsRefusesFirmware(t *testing.T) {
	for _, dir := range []string{HostVarDir, "/sys/firmware/efi", "/sys/firmware/../firmware/efi/efivars", "/sys"} {
		if _, err := NewDirVars(dir); err == nil {
			t.Errorf("NewDirVars(%s) succeeded", dir)
		}
	}
}

// TestNilStore: no store is no firmware, refused, never a default.
func TestNilStore(t *testing.T) {
	if _, _, err := BootEntries(nil); !errors.Is(err, errNoStore) {
		t.Errorf("BootEntries(nil) = %v", err)
	}
	if _, _, err := AddBootEntry(nil, "x", nil, HardDrive{PartGUID: "aaaaaaaa-0000-4000-8000-000000000001"}, grubPath); !errors.Is(err, errNoStore) {
		t.Errorf("AddBootEntry(nil) = %v", err)
	}
	if err := SetBootNext(nil, 1); !errors.Is(err, errNoStore) {
		t.Errorf("SetBootNext(nil) = %v", err)
	}
	if err := ClearBootNext(nil); !errors.Is(err, errNoStore) {
		t.Errorf("ClearBootNext(nil) = %v", err)
	}
	if _, err := PutFirst(nil, 1); !errors.Is(err, errNoStore) {
		t.Errorf("PutFirst(nil) = %v", err)
	}
}

// TestBootNextAndPutFirst: BootNext names one entry, ClearBootNext
// removes it; PutFirst moves an entry to the front of BootOrder.
func TestBootNextAndPutFirst(t *testing.T) {
	v := dirVars(t)
	if err := v.Set("BootOrder", EncodeBootOrder([]uint16{0, 1, 2})); err != nil {
		t.Fatal(err)
	}
	if err := SetBootNext(v, 2); err != nil {
		t.Fatal(err)
	}
	if b, err := v.Get("BootNext"); err != nil || !bytes.Equal(b, []byte{2, 0}) {
		t.Errorf("BootNext = % x, %v", b, err)
	}
	if err := ClearBootNext(v); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Get("BootNext"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("BootNext after ClearBootNext: %v", err)
	}
	order, err := PutFirst(v, 2)
	if err != nil || BootOrderText(order) != "0002,0000,0001" {
		t.Errorf("PutFirst = %v, %v", order, err)
	}
	if _, stored, _ := BootEntries(v); BootOrderText(stored) != "0002,0000,0001" {
		t.Errorf("stored BootOrder %v", stored)
	}
}

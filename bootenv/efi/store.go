package efi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Vars reads and writes UEFI variables of the global vendor.
type Vars interface {
	Get(name string) ([]byte, error)
	Set(name string, data []byte) error
	Delete(name string) error // a missing variable is no error
	List() ([]string, error)
}

// HostVarDir is where the kernel shows the firmware's variables of the
// machine that runs drd. Only a command's main may name it: library code
// takes a Vars, and tests give a DirVars (TestOnlyCmdNamesTheHost).
const HostVarDir = "/sys/firmware/efi/efivars"

// attrs are EFI_VARIABLE_NON_VOLATILE | BOOTSERVICE_ACCESS | RUNTIME_ACCESS.
const attrs = 0x7

// fsImmutableFL is FS_IMMUTABLE_FL of linux/fs.h.
const fsImmutableFL = 0x10

// VarFS is the kernel's efivarfs mounted at a directory: the firmware's
// own variables. Made by OpenVarFS only.
type VarFS struct{ dir string }

// OpenVarFS is the efivarfs mounted at dir. It refuses any other
// directory: a store that only looks like efivarfs is a DirVars.
func OpenVarFS(dir string) (VarFS, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return VarFS{}, fmt.Errorf("UEFI variables at %s: %w (a BIOS machine, or efivarfs is not mounted: mount -t efivarfs efivarfs %s)", dir, err, dir)
	}
	if uint32(st.Type) != unix.EFIVARFS_MAGIC {
		return VarFS{}, fmt.Errorf("UEFI variables at %s: not efivarfs (mount -t efivarfs efivarfs %s)", dir, dir)
	}
	return VarFS{dir: dir}, nil
}

// Dir is where the variables are.
func (v VarFS) Dir() string { return v.dir }

// Get implements Vars: the value without its 4 attribute bytes.
func (v VarFS) Get(name string) ([]byte, error) { return get(v.dir, name) }

// Set implements Vars. efivarfs makes most variables immutable; the
// flag is cleared first. The value goes in one write, as efivarfs wants.
func (v VarFS) Set(name string, data []byte) error {
	if err := v.mutable(name); err != nil {
		return err
	}
	return set(v.dir, name, data, 0) // efivarfs replaces the value on write
}

// Delete implements Vars.
func (v VarFS) Delete(name string) error {
	if err := v.mutable(name); err != nil {
		return err
	}
	return del(v.dir, name)
}

// List implements Vars: the names of the global vendor's variables.
func (v VarFS) List() ([]string, error) { return list(v.dir) }

// mutable clears the immutable flag efivarfs puts on most variables.
func (v VarFS) mutable(name string) error {
	f, err := os.Open(path(v.dir, name))
	if err != nil {
		return nil // a new variable
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err == nil && flags&fsImmutableFL != 0 {
		err = unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags&^fsImmutableFL))
	}
	if err != nil {
		return fmt.Errorf("making EFI variable %s writable: %w", name, err)
	}
	return nil
}

// DirVars is a plain directory laid out as efivarfs (name-GUID files,
// 4 attribute bytes, then the value): the firmware of a test, or of a
// machine drd must not change. Made by NewDirVars only.
type DirVars struct{ dir string }

// NewDirVars is the store in dir. It refuses efivarfs and anything under
// /sys/firmware: a DirVars never writes a real firmware's variables.
func NewDirVars(dir string) (DirVars, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return DirVars{}, err
	}
	if abs == "/sys/firmware" || strings.HasPrefix(abs, "/sys/firmware/") {
		return DirVars{}, fmt.Errorf("%s holds the firmware's own variables: give a directory of your own", dir)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(abs, &st); err != nil {
		return DirVars{}, fmt.Errorf("UEFI variables in %s: %w", dir, err)
	}
	if uint32(st.Type) == unix.EFIVARFS_MAGIC || uint32(st.Type) == unix.SYSFS_MAGIC {
		return DirVars{}, fmt.Errorf("%s is the kernel's (efivarfs or sysfs): give a directory of your own", dir)
	}
	return DirVars{dir: abs}, nil
}

// Dir is where the variables are.
func (v DirVars) Dir() string { return v.dir }

// Get implements Vars.
func (v DirVars) Get(name string) ([]byte, error) { return get(v.dir, name) }

// Set implements Vars.
func (v DirVars) Set(name string, data []byte) error {
	return set(v.dir, name, data, os.O_TRUNC) // a plain file keeps what a shorter value does not cover
}

// Delete implements Vars.
func (v DirVars) Delete(name string) error { return del(v.dir, name) }

// List implements Vars.
func (v DirVars) List() ([]string, error) { return list(v.dir) }

func path(dir, name string) string { return filepath.Join(dir, name+"-"+GlobalGUID) }

func get(dir, name string) ([]byte, error) {
	b, err := os.ReadFile(path(dir, name))
	if err != nil {
		return nil, err
	}
	if len(b) < 4 {
		return nil, fmt.Errorf("EFI variable %s: %d bytes", name, len(b))
	}
	return b[4:], nil
}

func set(dir, name string, data []byte, flags int) error {
	f, err := os.OpenFile(path(dir, name), os.O_WRONLY|os.O_CREATE|flags, 0o644)
	if err != nil {
		return fmt.Errorf("writing EFI variable %s: %w", name, err)
	}
	buf := make([]byte, 4, 4+len(data))
	binary.LittleEndian.PutUint32(buf, attrs)
	if _, err := f.Write(append(buf, data...)); err != nil {
		f.Close()
		return fmt.Errorf("writing EFI variable %s: %w", name, err)
	}
	return f.Close()
}

func del(dir, name string) error {
	if err := os.Remove(path(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("deleting EFI variable %s: %w", name, err)
	}
	return nil
}

func list(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), "-"+GlobalGUID); ok {
			names = append(names, n)
		}
	}
	return names, nil
}

// errNoStore is the refusal of a nil store: the caller decides whose
// firmware is written, never a default.
var errNoStore = errors.New("no UEFI variable store given")

// BootEntries reads every Boot#### variable and BootOrder.
func BootEntries(v Vars) (map[uint16]LoadOption, []uint16, error) {
	if v == nil {
		return nil, nil, errNoStore
	}
	names, err := v.List()
	if err != nil {
		return nil, nil, fmt.Errorf("listing EFI variables: %w", err)
	}
	entries := map[uint16]LoadOption{}
	for _, n := range names {
		var num uint16
		if len(n) != 8 || !strings.HasPrefix(n, "Boot") {
			continue
		}
		if _, err := fmt.Sscanf(n[4:], "%04X", &num); err != nil {
			continue
		}
		b, err := v.Get(n)
		if err != nil {
			return nil, nil, fmt.Errorf("reading EFI variable %s: %w", n, err)
		}
		o, err := DecodeLoadOption(b)
		if err != nil {
			continue // an entry drd cannot read is never one drd made
		}
		entries[num] = o
	}
	var order []uint16
	if b, err := v.Get("BootOrder"); err == nil {
		if order, err = DecodeBootOrder(b); err != nil {
			return nil, nil, err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("reading BootOrder: %w", err)
	}
	return entries, order, nil
}

// AddBootEntry makes (or rewrites) the Boot#### entry that boots file
// from the partition hd, and puts it into BootOrder right after the entry
// the machine booted from (BootCurrent), else last: when the booted disk
// is gone, the firmware tries this one next, before the network or shell
// entries that often follow. It returns the entry's number and the new
// BootOrder.
func AddBootEntry(v Vars, desc string, prefix []byte, hd HardDrive, file string) (uint16, []uint16, error) {
	want := LoadOption{Active: true, Description: desc, Prefix: prefix, Disk: hd, File: file}
	return PutEntry(v, want, BootCurrent(v))
}

// PutEntry writes the boot entry want (rewritten in place when one boots
// the same file from the same partition, else under a new number) and
// BootOrder with it right after entry after (-1: where it is, else last).
func PutEntry(v Vars, want LoadOption, after int) (uint16, []uint16, error) {
	entries, order, err := BootEntries(v)
	if err != nil {
		return 0, nil, err
	}
	num, newOrder := PlaceEntry(entries, order, want, after)
	data, err := want.Encode()
	if err != nil {
		return 0, nil, err
	}
	if err := v.Set(BootVar(num), data); err != nil {
		return 0, nil, fmt.Errorf("writing %s: %w", BootVar(num), err)
	}
	if err := v.Set("BootOrder", EncodeBootOrder(newOrder)); err != nil {
		return 0, nil, fmt.Errorf("writing BootOrder: %w", err)
	}
	return num, newOrder, nil
}

// BootCurrent is the number of the entry the firmware booted, or -1.
func BootCurrent(v Vars) int {
	if v == nil {
		return -1
	}
	b, err := v.Get("BootCurrent")
	if err != nil {
		return -1
	}
	if n, err := DecodeBootOrder(b); err == nil && len(n) == 1 {
		return int(n[0])
	}
	return -1
}

// SetBootNext makes entry n the firmware's choice for the next boot only.
func SetBootNext(v Vars, n uint16) error {
	if v == nil {
		return errNoStore
	}
	if err := v.Set("BootNext", EncodeBootOrder([]uint16{n})); err != nil {
		return fmt.Errorf("writing BootNext: %w", err)
	}
	return nil
}

// ClearBootNext removes BootNext: the next boot goes by BootOrder.
func ClearBootNext(v Vars) error {
	if v == nil {
		return errNoStore
	}
	return v.Delete("BootNext")
}

// PutFirst puts entry n first in BootOrder (added if missing) and
// returns the new order.
func PutFirst(v Vars, n uint16) ([]uint16, error) {
	_, order, err := BootEntries(v)
	if err != nil {
		return nil, err
	}
	newOrder := Reorder(order, n, true)
	if err := v.Set("BootOrder", EncodeBootOrder(newOrder)); err != nil {
		return nil, fmt.Errorf("writing BootOrder: %w", err)
	}
	return newOrder, nil
}

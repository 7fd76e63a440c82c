package isl

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/drd-linux/drd/bootenv"
)

// ModulesImageName is the file name of the compressed modules cpio, in
// drd's directory of each image's /boot.
const ModulesImageName = "modules.img"

// WriteModuleImage writes the modules cpio (WriteModuleArchive) as zstd,
// padded with zeros to a multiple of 4 bytes. It is a file of its own,
// loaded after the ISL image (GRUB's initrd A B, the EFI stub's two
// initrd=): the kernel finds a compressed archive at any offset after the
// first, while an uncompressed cpio must start 4-byte aligned
// (Documentation/driver-api/early-userspace/buffer-format.rst), which the
// end of a zstd frame is not. It returns the bytes written.
func WriteModuleImage(w io.Writer, modDir, version string, files []string) (int64, error) {
	var raw bytes.Buffer
	if err := WriteModuleArchive(&raw, modDir, version, files); err != nil {
		return 0, err
	}
	var z bytes.Buffer
	if err := Compress(&z, &raw); err != nil {
		return 0, fmt.Errorf("compressing the modules cpio: %w", err)
	}
	z.Write(make([]byte, pad4(int64(z.Len()))))
	n, err := w.Write(z.Bytes())
	return int64(n), err
}

// pad4 is how many zero bytes bring n to a multiple of 4.
func pad4(n int64) int64 { return (4 - n%4) % 4 }

// ModuleSource is what the resolver reads on the machine: a kernel's
// module directory and the modaliases of the hardware present.
type ModuleSource struct {
	ModDir  string // /lib/modules/VERSION
	Version string
	SysDir  string // /sys, for the modaliases
}

// ResolveFor reads the module index of src's kernel and resolves names
// (CriticalModules and more) and the modules of the hardware present.
func ResolveFor(src ModuleSource, names []string) (Resolution, error) {
	read := func(name string, optional bool) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(src.ModDir, name))
		if err != nil && optional && os.IsNotExist(err) {
			return nil, nil
		}
		return b, err
	}
	dep, err := read("modules.dep", false)
	if err != nil {
		return Resolution{}, fmt.Errorf("reading the module index of Linux %s: %w (is its modules package installed?)", src.Version, err)
	}
	alias, err := read("modules.alias", true)
	if err != nil {
		return Resolution{}, err
	}
	builtin, err := read("modules.builtin", true)
	if err != nil {
		return Resolution{}, err
	}
	idx, err := ParseModuleIndex(dep, alias, builtin)
	if err != nil {
		return Resolution{}, fmt.Errorf("%s: %w", src.ModDir, err)
	}
	return idx.Resolve(names, Modaliases(src.SysDir)), nil
}

// FSModules are the names (fs-TYPE, as the kernel asks for them at
// mount) of the file system types of the images' critical file systems,
// each once.
func FSModules(st *bootenv.Status) []string {
	var names []string
	for _, img := range st.Images {
		for _, f := range img.FileSystems {
			if n := "fs-" + f.Type; f.Type != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}

// Modaliases lists the modaliases of the devices under sysDir/bus, each once.
func Modaliases(sysDir string) []string {
	paths, _ := filepath.Glob(filepath.Join(sysDir, "bus/*/devices/*/modalias"))
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if a := strings.TrimSpace(string(b)); a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

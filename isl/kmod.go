package isl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// LoadListName is the file, in /lib/modules/VERSION of the ISL, that
// lists the modules drd isl install put there, in load order.
const LoadListName = "drd-isl.load"

// initFlags are finit_module's flags for the module file name. Debian 13's
// kernels ship their modules compressed with xz (.ko.xz), for the kernel
// itself to decompress (CONFIG_MODULE_DECOMPRESS, as kmod has it do);
// without MODULE_INIT_COMPRESSED_FILE it takes the file for a broken ELF
// object. Debian 12's modules are plain .ko.
func initFlags(name string) int {
	for _, ext := range []string{".ko.xz", ".ko.zst", ".ko.gz"} {
		if strings.HasSuffix(name, ext) {
			return unix.MODULE_INIT_COMPRESSED_FILE
		}
	}
	return 0
}

// LoadModules loads the modules listed in modDir/drd-isl.load, in order
// (finit_module). A module the kernel has already, or one that finds no
// hardware of its kind (ENODEV), is no error. It
// returns how many it loaded and the failures, one per module.
func LoadModules(modDir string) (int, []error) {
	data, err := os.ReadFile(filepath.Join(modDir, LoadListName))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil // no modules appended: a kernel with its drivers built in
	}
	if err != nil {
		return 0, []error{err}
	}
	n := 0
	var errs []error
	for _, rel := range strings.Fields(string(data)) {
		p := filepath.Join(modDir, rel)
		f, err := os.Open(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		flags := initFlags(rel)
		err = unix.FinitModule(int(f.Fd()), "", flags)
		f.Close()
		switch {
		case err == nil:
			n++
		case errors.Is(err, unix.EEXIST):
		case errors.Is(err, unix.ENODEV): // not for this machine: crc32c-intel without SSE4.2
		case flags != 0 && errors.Is(err, unix.EOPNOTSUPP):
			errs = append(errs, fmt.Errorf("loading %s: this kernel cannot decompress its modules (no CONFIG_MODULE_DECOMPRESS): %w", p, err))
		default:
			errs = append(errs, fmt.Errorf("loading %s: %w", p, err))
		}
	}
	return n, errs
}

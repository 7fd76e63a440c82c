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
		err = unix.FinitModule(int(f.Fd()), "", 0)
		f.Close()
		switch {
		case err == nil:
			n++
		case errors.Is(err, unix.EEXIST):
		case errors.Is(err, unix.ENODEV): // not for this machine: crc32c-intel without SSE4.2
		default:
			errs = append(errs, fmt.Errorf("loading %s: %w", p, err))
		}
	}
	return n, errs
}

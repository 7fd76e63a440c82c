package isl

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"
)

// WriteModuleArchive writes the newc cpio that drd isl install appends
// to the ISL initramfs: the module files (relative to modDir, the
// kernel's /lib/modules/VERSION) under lib/modules/VERSION, and the
// load list stageisl reads at start. The kernel unpacks it over the
// first archive.
func WriteModuleArchive(w io.Writer, modDir, version string, files []string) error {
	rw := cpio.Newc.Writer(w)
	top := path.Join("lib/modules", version)
	var recs []cpio.Record
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(modDir, f))
		if err != nil {
			return fmt.Errorf("reading module %s: %w", f, err)
		}
		recs = append(recs, cpio.StaticFile(path.Join(top, f), string(data), 0o644))
	}
	recs = append(recs, cpio.StaticFile(path.Join(top, LoadListName), strings.Join(files, "\n")+"\n", 0o644))
	if err := cpio.WriteRecordsAndDirs(rw, recs); err != nil {
		return err
	}
	return cpio.WriteTrailer(rw)
}

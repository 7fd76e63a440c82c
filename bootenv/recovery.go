package bootenv

import (
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/drd-linux/drd/bootenv/grub"
	"github.com/drd-linux/drd/internal/inroot"
)

// STAGEISL in every image's /boot (docs/isl.md): drd isl install puts the
// kernel, the ISL initramfs and the modules for that kernel into drd's
// directory there, with a manifest; drd's menu (drd.cfg) boots them from
// the image's own /boot; drd status reports them.
const (
	RecoveryDir      = grub.RecoveryDir     // below /boot
	RecoveryKernel   = grub.RecoveryKernel  // the booted kernel, copied
	RecoveryISL      = grub.RecoveryISL     // the ISL initramfs (zstd cpio)
	RecoveryModules  = grub.RecoveryModules // that kernel's modules (zstd cpio)
	RecoveryManifest = "isl.json"           // Recovery, written last
	RecoveryTitle    = grub.RecoveryTitle
	RecoveryMenuID   = grub.RecoveryMenuID
	RecoveryHotkey   = grub.RecoveryHotkey // GRUB: this key in the menu boots STAGEISL
)

// RecoveryFiles are the files of STAGEISL in /boot/drd, in the order they
// are written; the manifest comes after them.
var RecoveryFiles = []string{RecoveryKernel, RecoveryISL, RecoveryModules}

// Recovery is an image's isl.json: what drd isl install put there.
type Recovery struct {
	Kernel    string    `json:"kernel"`    // version of the kernel copied: 6.1.0-28-amd64
	Cmdline   string    `json:"cmdline"`   // its command line (the console= arguments)
	Installed time.Time `json:"installed"` // when
}

// recoveryRel is drd's directory below the top of the boot file system.
func recoveryRel(mountPoint string) string {
	if mountPoint == "/boot" {
		return RecoveryDir
	}
	return filepath.Join("boot", RecoveryDir)
}

// readRecovery reads the manifest in the boot file system at bootTop and
// checks that the files it stands for are there; nil when STAGEISL is
// not installed (or only in part: a menu entry must never boot a file
// that is missing).
func readRecovery(bootTop, mountPoint string) *Recovery {
	tr := inroot.Mounts(bootTop) // never through a link the image holds
	dir := recoveryRel(mountPoint)
	data, err := tr.ReadFile(path.Join(dir, RecoveryManifest))
	if err != nil {
		return nil
	}
	var rec Recovery
	if json.Unmarshal(data, &rec) != nil || rec.Kernel == "" || !grub.CmdlineRE().MatchString(rec.Cmdline) {
		return nil
	}
	for _, f := range RecoveryFiles {
		if fi, err := tr.Lstat(path.Join(dir, f)); err != nil || !fi.Mode().IsRegular() {
			return nil
		}
	}
	return &rec
}

// writeRecovery writes the files of STAGEISL (name -> bytes, every name of
// RecoveryFiles) and then the manifest into the boot file system at
// bootTop, each atomically unless it has those bytes already: an older
// copy is replaced whole or not at all, and the manifest, which the menu
// goes by, comes last.
func writeRecovery(bootTop, mountPoint string, files map[string][]byte, rec Recovery) error {
	dir := filepath.Join(bootTop, recoveryRel(mountPoint))
	for _, name := range RecoveryFiles {
		data, ok := files[name]
		if !ok {
			return fmt.Errorf("no %s to write", name)
		}
		if _, err := writeIfChanged(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, RecoveryManifest), append(data, '\n'), 0o644)
}

// RecoveryCmdline is the command line STAGEISL boots with: the console=
// arguments of the booted kernel's, in their order (the last one is
// /dev/console, where the prompt appears; serial and VGA as the booted
// system has them). None: the kernel's default console (VGA).
func RecoveryCmdline(cmdline string) string {
	var keep []string
	for _, a := range strings.Fields(cmdline) {
		if strings.HasPrefix(a, "console=") {
			keep = append(keep, a)
		}
	}
	return strings.Join(keep, " ")
}

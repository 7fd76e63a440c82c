package isl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/report"
)

// DefaultImagePath is where drd's package puts the ISL initramfs that
// drd isl install copies (make isl writes it to build/isl/drd-isl.img).
const DefaultImagePath = "/usr/lib/drd/" + ImageName

// InstallOptions of drd isl install.
type InstallOptions struct {
	Machine bootenv.Machine // Root: the booted image; SysDir, ProcDir: the running kernel's
	Image   string          // the ISL initramfs; "": DefaultImagePath
	Preview bool
	Now     func() time.Time
}

// Install puts STAGEISL into every image's /boot (docs/isl.md): the
// booted kernel, the ISL initramfs, and the modules of that kernel that
// the ISL needs for the disks of this machine, the critical modules and
// the types of the images' file systems; then the menu entry in every image's drd.cfg, and on UEFI a
// boot entry of its own.
func Install(ctx context.Context, opt InstallOptions, r report.Reporter) error {
	m := opt.Machine
	if opt.Image == "" {
		opt.Image = DefaultImagePath
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	isl, err := os.ReadFile(opt.Image)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no ISL image at %s: build it with make isl (build/isl/%s) and copy it there, or name it with -x image=PATH", opt.Image, ImageName)
	}
	if err != nil {
		return fmt.Errorf("reading the ISL image: %w", err)
	}
	version, err := kernelVersion(m.ProcDir)
	if err != nil {
		return err
	}
	kernelPath := filepath.Join(m.Root, "boot", "vmlinuz-"+version)
	kernel, err := os.ReadFile(kernelPath)
	if err != nil {
		return fmt.Errorf("reading the booted kernel: %w (STAGEISL boots the kernel that runs now, Linux %s)", err, version)
	}
	r.Step("Scanning for system images")
	st, err := m.Scan(ctx)
	if err != nil {
		return err
	}
	r.Step("Resolving the kernel modules STAGEISL needs (Linux %s)", version)
	src := ModuleSource{ModDir: filepath.Join(m.Root, "lib/modules", version), Version: version, SysDir: m.SysDir}
	res, err := ResolveFor(src, append(slices.Clone(CriticalModules), FSModules(st)...))
	if err != nil {
		return err
	}
	if len(res.Missing) > 0 {
		r.Note("not modules of Linux %s (built in or absent): %s", version, strings.Join(res.Missing, ", "))
	}
	var mods bytes.Buffer
	if _, err := WriteModuleImage(&mods, src.ModDir, version, res.Files); err != nil {
		return fmt.Errorf("writing the modules of Linux %s: %w", version, err)
	}
	r.Note("%d modules, %.1f MiB compressed", len(res.Files), float64(mods.Len())/(1<<20))
	cmdline, _ := os.ReadFile(filepath.Join(m.ProcDir, "cmdline"))
	rec := bootenv.Recovery{Kernel: version, Cmdline: bootenv.RecoveryCmdline(string(cmdline)), Installed: opt.Now().UTC().Truncate(time.Second)}
	files := map[string][]byte{
		bootenv.RecoveryKernel:  kernel,
		bootenv.RecoveryISL:     isl,
		bootenv.RecoveryModules: mods.Bytes(),
	}
	return m.InstallRecovery(st, files, rec, opt.Preview, r)
}

// kernelVersion is the release of the running kernel (uname -r), read
// from procDir so that tests can give their own.
func kernelVersion(procDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(procDir, "sys/kernel/osrelease"))
	if err != nil {
		return "", fmt.Errorf("reading the running kernel's version: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" || strings.ContainsAny(v, "/ ") {
		return "", fmt.Errorf("the running kernel's version %q is no file name", v)
	}
	return v, nil
}

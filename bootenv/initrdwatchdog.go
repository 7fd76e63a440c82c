package bootenv

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/u-root/u-root/pkg/cpio"
	"github.com/ulikunitz/xz"

	"github.com/drd-linux/drd/bootenv/grub"
	"github.com/drd-linux/drd/internal/inroot"
	"github.com/drd-linux/drd/internal/report"
)

// The trial watchdog from the start of the initramfs. systemd-modules-load
// loads softdog after the initramfs, so a trial that hangs inside it (a
// script waiting forever, a prompt nobody answers) would be caught by
// nothing. A small cpio archive (the kernel unpacks concatenated archives
// over each other) holds the image's own softdog module and a file of
// conf/conf.d, which initramfs-tools' /init sources first thing (after
// /proc, /sys and /dev, before any script): it loads softdog, armed,
// with the trial's deadline. A kexec trial gets it appended to the
// initramfs in memory (cmd/drd/switch.go); GRUB's trial entry loads it
// after the initramfs from the image's /boot/drd (trialInitrd). The
// boot check stops the watchdog as before, and the module is simply
// loaded already when systemd-modules-load asks for it.

// softdogModule is where the softdog module of kernel release rel lies in
// an image's root, each compression Debian uses tried in turn.
func softdogModule(rel string) []string {
	base := path.Join("lib/modules", rel, "kernel/drivers/watchdog/softdog.ko")
	return []string{base, base + ".zst", base + ".xz", base + ".gz"}
}

// KernelRelease is the release in a kernel's file name (vmlinuz-REL),
// "" for another name.
func KernelRelease(kernel string) string {
	rel, ok := strings.CutPrefix(path.Base(kernel), "vmlinuz-")
	if !ok || rel == "" || strings.ContainsAny(rel, "/ ") {
		return ""
	}
	return rel
}

// decompressModule is a kernel module as insmod loads it, from the file
// name's compression: insmod in an initramfs may lack the library (the
// kernel's in-kernel decompression is not everywhere either).
func decompressModule(name string, data []byte) ([]byte, error) {
	var r io.Reader
	var err error
	switch path.Ext(name) {
	case ".ko":
		return data, nil
	case ".zst":
		d, derr := zstd.NewReader(bytes.NewReader(data))
		if derr != nil {
			return nil, derr
		}
		defer d.Close()
		r = d
	case ".xz":
		r, err = xz.NewReader(bytes.NewReader(data))
	case ".gz":
		r, err = gzip.NewReader(bytes.NewReader(data))
	default:
		return nil, fmt.Errorf("%s: not a kernel module", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	out, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// initrdWatchdogConf is the file of conf/conf.d that loads the module at
// /drd/softdog.ko, armed for seconds.
func initrdWatchdogConf(seconds int) string {
	return fmt.Sprintf(`# drd: a kexec trial's watchdog, from the start of the initramfs (docs/boot.md)
if insmod /drd/softdog.ko soft_margin=%d soft_active_on_boot=1; then
	echo "drd: the trial's watchdog is armed in the initramfs (%d s)"
else
	echo "drd: the trial's watchdog could not be armed in the initramfs"
fi
`, seconds, seconds)
}

// InitrdWatchdog is the cpio archive (newc) drd appends to a trial's
// initramfs: module (softdog, uncompressed) at /drd/softdog.ko and the
// conf/conf.d file that loads it, armed for seconds.
func InitrdWatchdog(module []byte, seconds int) ([]byte, error) {
	var b bytes.Buffer
	w := cpio.Newc.Writer(&b)
	recs := []cpio.Record{
		cpio.StaticFile("conf/conf.d/drd-trial-watchdog", initrdWatchdogConf(seconds), 0o644),
		cpio.StaticFile("drd/softdog.ko", string(module), 0o644),
	}
	if err := cpio.WriteRecordsAndDirs(w, recs); err != nil {
		return nil, fmt.Errorf("the trial watchdog's archive: %w", err)
	}
	if err := cpio.WriteTrailer(w); err != nil {
		return nil, fmt.Errorf("the trial watchdog's archive: %w", err)
	}
	return b.Bytes(), nil
}

// addInitrdWatchdog sets plan's InitrdAppend to the watchdog of
// InitrdWatchdog, with the softdog module of target's own root file
// system (bootDir is its /boot's, open at bootMP). Without the module
// the trial goes on with the watchdog from systemd-modules-load only,
// and drd says so.
func (m Machine) addInitrdWatchdog(target *Image, bootMP, bootDir string, plan *KexecPlan, seconds int, r report.Reporter) {
	module, err := m.readSoftdog(target, bootMP, bootDir, KernelRelease(plan.Kernel))
	if err != nil {
		r.Warn("the trial's watchdog starts only after the initramfs (a hang inside it is not caught): %v", err)
		return
	}
	if plan.InitrdAppend, err = InitrdWatchdog(module, seconds); err != nil {
		r.Warn("the trial's watchdog starts only after the initramfs: %v", err)
		return
	}
	r.Note("the trial's watchdog (%d s) starts with the initramfs: softdog appended to it (%d bytes)", seconds, len(plan.InitrdAppend))
}

// readSoftdog reads the softdog module of kernel release rel from
// target's root file system, resolved inside it, uncompressed.
func (m Machine) readSoftdog(target *Image, bootMP, bootDir, rel string) ([]byte, error) {
	if rel == "" {
		return nil, fmt.Errorf("the kernel's file name %q names no release", rel)
	}
	rootDir := bootDir
	if bootMP != "/" {
		dir, release, err := m.openFS(target, "/", false)
		if err != nil {
			return nil, fmt.Errorf("opening the root of %s: %w", target.Name, err)
		}
		defer release()
		rootDir = dir
	}
	tree := inroot.Image(rootDir)
	for _, p := range softdogModule(rel) {
		data, err := tree.ReadFile(p)
		if err == nil {
			return decompressModule(p, data)
		}
	}
	return nil, fmt.Errorf("%s has no softdog module for Linux %s (/%s)", target.Name, rel, softdogModule(rel)[0])
}

// trialInitrd makes sure img's /boot/drd holds the archive of
// InitrdWatchdog for its kernel (from GRUB's trial entry: grubTrialArgs'
// deadline) and returns its file name for the menu, "" when there is
// none (no softdog module: GRUB's trials then get the watchdog from
// systemd-modules-load only). bootDir is img's boot file system, open
// for writing at bootMP.
func (m Machine) trialInitrd(img *Image, bootMP, bootDir string, mi grub.MenuImage, r report.Reporter) string {
	rel := KernelRelease(mi.Kernel)
	if rel == "" || mi.Initrd == "" {
		return ""
	}
	name := "trial-watchdog-" + rel + ".cpio"
	if !grub.FileRE().MatchString(name) {
		return ""
	}
	p := path.Join(strings.TrimPrefix(mi.BootPrefix, "/"), RecoveryDir, name)
	tr := inroot.Mounts(bootDir)
	if _, err := tr.Lstat(p); err == nil {
		return name
	}
	module, err := m.readSoftdog(img, bootMP, bootDir, rel)
	if err != nil {
		r.Note("%s: a trial's watchdog starts only after the initramfs: %v", img.Name, err)
		return ""
	}
	archive, err := InitrdWatchdog(module, DefaultWatchdogSeconds)
	if err == nil {
		_, err = writeIfChangedIn(tr, p, archive, 0o644)
	}
	if err != nil {
		r.Warn("%s: writing /boot/%s/%s: %v; a trial's watchdog starts only after the initramfs", img.Name, RecoveryDir, name, err)
		return ""
	}
	return name
}

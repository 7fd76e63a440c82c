package bootenv

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

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
// over each other) holds the image's own softdog module, the modules it
// needs (watchdog.ko on Debian: its modules.dep says), and a file of
// conf/conf.d, which initramfs-tools' /init sources first thing (after
// /proc, /sys and /dev, before any script): it loads softdog, armed,
// with the deadline of the trial's command line. A kexec trial gets it appended to the
// initramfs in memory (cmd/drd/switch.go); GRUB's trial entry loads it
// after the initramfs from the image's /boot/drd (trialInitrd). The
// boot check stops the watchdog as before, and the module is simply
// loaded already when systemd-modules-load asks for it.

// softdogLoadOrder is the order in which the softdog module and the
// modules it needs are loaded, as paths below /lib/modules/REL, from that
// kernel's modules.dep ("kernel/drivers/watchdog/softdog.ko.xz:
// kernel/drivers/watchdog/watchdog.ko.xz": each line a module, then
// what it needs, the last to be loaded first). It is nil when no line is
// softdog's, or a path is not a plain relative one.
func softdogLoadOrder(modulesDep []byte) []string {
	for _, line := range strings.Split(string(modulesDep), "\n") {
		mod, deps, ok := strings.Cut(line, ":")
		if !ok || moduleName(mod) != "softdog" {
			continue
		}
		order := strings.Fields(deps)
		if len(order) > maxWatchdogModules-1 {
			return nil
		}
		slices.Reverse(order)
		order = append(order, strings.TrimSpace(mod))
		for _, p := range order {
			if !moduleRE().MatchString(p) || strings.Contains(p, "..") {
				return nil
			}
		}
		return order
	}
	return nil
}

// maxWatchdogModules bounds what an image's modules.dep can make drd
// read for softdog (it needs one module, watchdog.ko, on Debian's
// kernels).
const maxWatchdogModules = 8

// moduleRE is a path of modules.dep: kernel/drivers/watchdog/softdog.ko,
// compressed or not.
var moduleRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9_+-][A-Za-z0-9_+./-]*\.ko(\.zst|\.xz|\.gz)?$`)
})

// moduleName is a module's name from its path: softdog for
// kernel/drivers/watchdog/softdog.ko.xz.
func moduleName(p string) string {
	base := path.Base(strings.TrimSpace(p))
	for _, ext := range []string{".zst", ".xz", ".gz"} {
		base = strings.TrimSuffix(base, ext)
	}
	return strings.TrimSuffix(base, ".ko")
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

// Module is a kernel module for the trial watchdog's archive.
type Module struct {
	Name string // softdog
	Data []byte // uncompressed
}

// initrdWatchdogConf is the file of conf/conf.d that loads mods from
// /drd in order, the last (softdog) armed with the deadline of the
// kernel command line's TrialWatchdogArgs; it does nothing on a command
// line without them (a GRUB trial with -x watchdog=0), and takes
// fallback seconds for a deadline that is missing or no number. A module
// loaded already (or built in) is no failure; only softdog's load
// decides. It is sourced by /init's shell: its names start with drd_.
func initrdWatchdogConf(mods []Module, fallback int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# drd: a trial's watchdog, from the start of the initramfs (docs/boot.md)
drd_armed=
drd_margin=
for drd_arg in $(cat /proc/cmdline); do
	case "$drd_arg" in
	%s) drd_armed=1 ;;
	softdog.soft_margin=*) drd_margin="${drd_arg#softdog.soft_margin=}" ;;
	esac
done
case "$drd_margin" in
''|*[!0-9]*) drd_margin=%d ;;
esac
if [ -n "$drd_armed" ]; then
`, trialWatchdogArmArg, fallback)
	for _, m := range mods[:len(mods)-1] {
		fmt.Fprintf(&b, "\tinsmod /drd/%s.ko 2>/dev/null\n", m.Name)
	}
	fmt.Fprintf(&b, `	if insmod /drd/%s.ko soft_margin="$drd_margin" soft_active_on_boot=1; then
		echo "drd: the trial's watchdog is armed in the initramfs ($drd_margin s)"
	else
		echo "drd: the trial's watchdog could not be armed in the initramfs"
	fi
fi
unset drd_armed drd_margin drd_arg
`, mods[len(mods)-1].Name)
	return b.String()
}

// InitrdWatchdog is the cpio archive (newc) drd adds to a trial's
// initramfs: mods (softdog last, after what it needs) at /drd/NAME.ko
// and the conf/conf.d file that loads them, softdog armed with the
// command line's deadline (initrdWatchdogConf), else fallback seconds.
func InitrdWatchdog(mods []Module, fallback int) ([]byte, error) {
	if len(mods) == 0 {
		return nil, errors.New("the trial watchdog's archive: no module")
	}
	recs := []cpio.Record{cpio.StaticFile("conf/conf.d/drd-trial-watchdog", initrdWatchdogConf(mods, fallback), 0o644)}
	for _, m := range mods {
		recs = append(recs, cpio.StaticFile("drd/"+m.Name+".ko", string(m.Data), 0o644))
	}
	var b bytes.Buffer
	w := cpio.Newc.Writer(&b)
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
	mods, err := m.readWatchdogModules(target, bootMP, bootDir, KernelRelease(plan.Kernel))
	if err != nil {
		r.Warn("the trial's watchdog starts only after the initramfs (a hang inside it is not caught): %v", err)
		return
	}
	if plan.InitrdAppend, err = InitrdWatchdog(mods, seconds); err != nil {
		r.Warn("the trial's watchdog starts only after the initramfs: %v", err)
		return
	}
	r.Note("the trial's watchdog (%d s) starts with the initramfs: softdog appended to it (%d bytes)", seconds, len(plan.InitrdAppend))
}

// readWatchdogModules reads the softdog module of kernel release rel and
// what it needs, in load order, from target's root file system, resolved
// inside it, uncompressed.
func (m Machine) readWatchdogModules(target *Image, bootMP, bootDir, rel string) ([]Module, error) {
	if rel == "" {
		return nil, errors.New("the kernel's file name names no release")
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
	dir := path.Join("lib/modules", rel)
	dep, err := tree.ReadFile(path.Join(dir, "modules.dep"))
	if err != nil {
		return nil, fmt.Errorf("%s: /%s/modules.dep: %w", target.Name, dir, err)
	}
	order := softdogLoadOrder(dep)
	if order == nil {
		return nil, fmt.Errorf("%s has no softdog module for Linux %s (none in /%s/modules.dep)", target.Name, rel, dir)
	}
	var mods []Module
	for _, p := range order {
		data, err := tree.ReadFile(path.Join(dir, p))
		if err != nil {
			return nil, fmt.Errorf("%s: /%s/%s: %w", target.Name, dir, p, err)
		}
		if data, err = decompressModule(p, data); err != nil {
			return nil, err
		}
		mods = append(mods, Module{Name: moduleName(p), Data: data})
	}
	return mods, nil
}

// trialInitrd makes sure img's /boot/drd holds the archive of
// InitrdWatchdog for its kernel (for GRUB's trial entry, whose command
// line carries the deadline: grubTrialArgs) and returns its file name for the menu, "" when there is
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
	mods, err := m.readWatchdogModules(img, bootMP, bootDir, rel)
	if err != nil {
		r.Note("%s: a trial's watchdog starts only after the initramfs: %v", img.Name, err)
		return ""
	}
	archive, err := InitrdWatchdog(mods, DefaultWatchdogSeconds)
	if err == nil {
		_, err = writeIfChangedIn(tr, p, archive, 0o644)
	}
	if err != nil {
		r.Warn("%s: writing /boot/%s/%s: %v; a trial's watchdog starts only after the initramfs", img.Name, RecoveryDir, name, err)
		return ""
	}
	return name
}

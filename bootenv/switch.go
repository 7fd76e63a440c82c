package bootenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Switcher is what restarting into an image needs from the running
// machine: cmd/drd wires the real one (kexec_file_load, systemctl); the
// tests a fake. The library never reaches the machine by itself.
type Switcher interface {
	// SystemdVersion is the running systemd's version (systemctl --version).
	SystemdVersion(ctx context.Context) (int, error)
	// KexecLoad loads p's kernel and initramfs, opened inside the tree
	// at bootDir (the image's boot file system), with kexec_file_load.
	KexecLoad(bootDir string, p KexecPlan) error
	// Restart restarts the machine by s (firmware: systemctl reboot;
	// kexec: systemctl kexec; soft: systemctl soft-reboot).
	Restart(ctx context.Context, s Switch) error
}

// switchFacts reads the facts ChooseSwitch needs: the running kernel and
// command line from m.ProcDir, kexec's availability from the running
// kernel's config in the booted image's /boot and kexec_load_disabled,
// systemd's version from sw.
func (m Machine) switchFacts(ctx context.Context, sw Switcher, target, running menuFacts) SwitchFacts {
	f := SwitchFacts{
		RunningKernel: running.kernel, RunningInitrd: running.initrd, RunningCmdline: running.cmdline,
		TargetKernel: target.kernel, TargetInitrd: target.initrd, TargetCmdline: target.cmdline,
	}
	if mounts, err := ReadMountinfo(m.ProcDir); err != nil {
		f.NoNextRoot = fmt.Sprintf("the mount table could not be read: %v", err)
	} else {
		f.NoNextRoot = m.nextRootRefusal(mounts)
	}
	if v, err := sw.SystemdVersion(ctx); err == nil {
		f.Systemd = v
	}
	if b, err := os.ReadFile(filepath.Join(m.ProcDir, "sys/kernel/kexec_load_disabled")); err == nil {
		f.KexecLoadDisabledKnown = true
		f.KexecLoadDisabled = strings.TrimSpace(string(b)) != "0"
	}
	if rel, err := os.ReadFile(filepath.Join(m.ProcDir, "sys/kernel/osrelease")); err == nil {
		cfg, err := os.ReadFile(filepath.Join(m.Root, "boot", "config-"+strings.TrimSpace(string(rel))))
		f.KexecFileLoad = err == nil && kernelConfigHas(cfg, "CONFIG_KEXEC_FILE")
	}
	return f
}

// kernelConfigHas reports whether a kernel's .config sets opt to y.
func kernelConfigHas(cfg []byte, opt string) bool {
	for _, l := range bytes.Split(cfg, []byte("\n")) {
		if string(bytes.TrimSpace(l)) == opt+"=y" {
			return true
		}
	}
	return false
}

// menuFacts are a kernel, initramfs and command line to compare.
type menuFacts struct{ kernel, initrd, cmdline string }

// runningFacts is what the running kernel booted: its file name from
// BOOT_IMAGE= (else vmlinuz-RELEASE), initrd.img-RELEASE when the
// booted image's /boot has it, and its command line.
func (m Machine) runningFacts() menuFacts {
	var f menuFacts
	cmd, _ := os.ReadFile(filepath.Join(m.ProcDir, "cmdline"))
	f.cmdline = strings.TrimSpace(string(cmd))
	rel, _ := os.ReadFile(filepath.Join(m.ProcDir, "sys/kernel/osrelease"))
	r := strings.TrimSpace(string(rel))
	for _, a := range strings.Fields(f.cmdline) {
		if v, ok := strings.CutPrefix(a, "BOOT_IMAGE="); ok {
			f.kernel = path.Base(v)
		}
	}
	if f.kernel == "" && r != "" {
		f.kernel = "vmlinuz-" + r
	}
	if r != "" {
		if _, err := os.Stat(filepath.Join(m.Root, "boot", "initrd.img-"+r)); err == nil {
			f.initrd = "initrd.img-" + r
		}
	}
	return f
}

// chooseSwitch decides the switch into target and says why, for a
// preview too; bootDir is target's boot file system, opened.
func (m Machine) chooseSwitch(ctx context.Context, opt ActivateOptions, target *Image, bootDir string) (Choice, *KexecPlan, error) {
	if opt.Reboot == SwitchNone || opt.Reboot == SwitchFirmware {
		c, err := ChooseSwitch(opt.Reboot, SwitchFacts{})
		return c, nil, err
	}
	if opt.Switcher == nil {
		return Choice{}, nil, fmt.Errorf("reboot=%s: no way to switch was given (a bug in the caller)", opt.Reboot)
	}
	args := kernelArgs(m.runningFacts().cmdline)
	mi, err := menuImage(target, bootDir, args)
	if err != nil {
		return Choice{}, nil, err
	}
	f := m.switchFacts(ctx, opt.Switcher, menuFacts{mi.Kernel, mi.Initrd, mi.Cmdline}, m.runningFacts())
	c, err := ChooseSwitch(opt.Reboot, f)
	if err != nil {
		return c, nil, err
	}
	if c.Switch != SwitchKexec {
		return c, nil, nil
	}
	p, err := PlanKexec(mi, opt.Trial, PanicSeconds, opt.Watchdog)
	if err != nil {
		return c, nil, err
	}
	return c, &p, nil
}

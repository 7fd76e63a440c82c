package bootenv

import (
	"fmt"
	"path"
	"strings"

	"github.com/drd-linux/drd/bootenv/grub"
)

// Switching into an image without the firmware: kexec (a new kernel,
// no POST, no boot loader) or systemd's soft-reboot (a new user space on
// the same kernel). The decisions here are pure; the side effects are
// behind Switcher (cmd/drd wires the real one).

// Switch is how drd activate -x reboot= restarts into the boot target.
type Switch string

const (
	SwitchNone     Switch = ""         // no reboot
	SwitchFirmware Switch = "firmware" // a full reboot: firmware, GRUB, kernel
	SwitchKexec    Switch = "kexec"    // kexec_file_load + systemctl kexec
	SwitchSoft     Switch = "soft"     // systemctl soft-reboot into /run/nextroot
	SwitchAuto     Switch = "auto"     // the fastest of the three that is safe here
)

// ParseSwitch reads the value of -x reboot=: true and firmware are a
// firmware reboot (what -x reboot=true always meant), false none.
func ParseSwitch(s string) (Switch, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "false", "no", "0":
		return SwitchNone, nil
	case "true", "yes", "1", "firmware":
		return SwitchFirmware, nil
	case "kexec":
		return SwitchKexec, nil
	case "soft":
		return SwitchSoft, nil
	case "auto":
		return SwitchAuto, nil
	}
	return "", fmt.Errorf("reboot=%q: want false, true (= firmware), firmware, kexec, soft or auto", s)
}

// TrialArg is the kernel argument that carries a kexec or soft-reboot
// trial: drd.trial=sysimage_001. The persistent boot target (drd's
// block, BootOrder) stays the booted image; the boot check reads this
// from /proc/cmdline to know the boot is a trial.
const TrialArg = "drd.trial"

// MinSoftRebootSystemd is the first systemd with systemctl soft-reboot.
const MinSoftRebootSystemd = 254

// KexecPlan is what kexec_file_load is given: the kernel and initramfs
// of an image (paths inside the image's tree, as drd's GRUB entry for it
// boots them) and its command line.
type KexecPlan struct {
	Image   string
	Kernel  string // /vmlinuz-6.1.0-28-amd64 in the image's boot file system (/boot/vmlinuz-... when /boot is in /)
	Initrd  string // the same; "" for none
	Cmdline string
	// InitrdAppend, for a trial with a watchdog, is loaded after the
	// initramfs: the watchdog from the initramfs's start (InitrdWatchdog).
	InitrdAppend []byte
}

// PlanKexec is the kexec of drd's menu entry mi: the same kernel,
// initramfs and command line GRUB would boot; a trial adds what a GRUB
// trial gets (panic=, so a panic reboots by the firmware into the
// persistent target), the trial watchdog (TrialWatchdogArgs of
// watchdogSeconds, 0 none: a hang resets by the firmware too) and the
// trial marker the boot check reads.
func PlanKexec(mi grub.MenuImage, trial bool, panicSeconds, watchdogSeconds int) (KexecPlan, error) {
	if !grub.FileRE().MatchString(mi.Kernel) {
		return KexecPlan{}, fmt.Errorf("kexec into %s: kernel %q is no file name in /boot", mi.Name, mi.Kernel)
	}
	if mi.Initrd != "" && !grub.FileRE().MatchString(mi.Initrd) {
		return KexecPlan{}, fmt.Errorf("kexec into %s: initramfs %q is no file name in /boot", mi.Name, mi.Initrd)
	}
	if !strings.Contains(mi.Cmdline, "root=") {
		return KexecPlan{}, fmt.Errorf("kexec into %s: command line %q has no root=", mi.Name, mi.Cmdline)
	}
	if trial && panicSeconds < 1 {
		return KexecPlan{}, fmt.Errorf("kexec trial of %s: panic=%d: a trial kernel must reboot after a panic", mi.Name, panicSeconds)
	}
	p := KexecPlan{Image: mi.Name, Kernel: path.Join("/", mi.BootPrefix, mi.Kernel), Cmdline: mi.Cmdline}
	if mi.Initrd != "" {
		p.Initrd = path.Join("/", mi.BootPrefix, mi.Initrd)
	}
	if trial {
		wd, err := TrialWatchdogArgs(watchdogSeconds)
		if err != nil {
			return KexecPlan{}, fmt.Errorf("kexec trial of %s: %w", mi.Name, err)
		}
		p.Cmdline += fmt.Sprintf(" panic=%d", panicSeconds)
		if wd != "" {
			p.Cmdline += " " + wd
		}
		p.Cmdline += fmt.Sprintf(" %s=%s", TrialArg, mi.Name)
	}
	return p, nil
}

// TrialFromCmdline is the image a kexec or soft-reboot trial named on a
// kernel command line (/proc/cmdline), "" for none or a malformed name.
// The last drd.trial= counts, as the kernel's last word does.
func TrialFromCmdline(cmdline string) string {
	name := ""
	for _, a := range strings.Fields(cmdline) {
		if k, v, ok := strings.Cut(a, "="); ok && k == TrialArg {
			name = v
		}
	}
	if !grub.ImageNameRE().MatchString(name) {
		return ""
	}
	return name
}

// SwitchFacts are what the choice of a switch depends on.
type SwitchFacts struct {
	// The running system and the target as drd's menu boots it: kernel
	// and initramfs file names (vmlinuz-6.1.0-28-amd64), command line
	// without BOOT_IMAGE=, panic= and drd.trial=.
	RunningKernel, RunningInitrd, RunningCmdline string
	TargetKernel, TargetInitrd, TargetCmdline    string
	Systemd                                      int  // systemd's version; 0 unknown
	KexecFileLoad                                bool // the kernel has kexec_file_load (CONFIG_KEXEC_FILE)
	KexecLoadDisabled                            bool // kernel.kexec_load_disabled = 1
	KexecLoadDisabledKnown                       bool // /proc/sys/kernel/kexec_load_disabled was read
	// NoNextRoot is why drd cannot prepare /run/nextroot for a
	// soft-reboot ("" when it can).
	NoNextRoot string
}

// Choice is the switch drd uses and why; Refused lists, for each faster
// switch passed over, the reason.
type Choice struct {
	Switch  Switch
	Why     string
	Refused []string
}

// softRefusal is why soft-reboot cannot switch into the target, "" when
// it can.
func softRefusal(f SwitchFacts) string {
	switch {
	case f.Systemd == 0:
		return "systemd's version is unknown: soft-reboot needs " + fmt.Sprint(MinSoftRebootSystemd)
	case f.Systemd < MinSoftRebootSystemd:
		return fmt.Sprintf("systemd %d < %d: soft-reboot needs %d", f.Systemd, MinSoftRebootSystemd, MinSoftRebootSystemd)
	case f.NoNextRoot != "":
		return f.NoNextRoot
	case f.TargetKernel != f.RunningKernel:
		return fmt.Sprintf("the target's kernel %s is not the running %s: soft-reboot keeps the kernel", f.TargetKernel, f.RunningKernel)
	case f.TargetInitrd != f.RunningInitrd:
		return fmt.Sprintf("the target's initramfs %s is not the running %s: soft-reboot keeps the kernel", orText(f.TargetInitrd, "(none)"), orText(f.RunningInitrd, "(none)"))
	case normArgs(f.TargetCmdline) != normArgs(f.RunningCmdline):
		return fmt.Sprintf("the target's command line %q is not the running %q: soft-reboot keeps the kernel's", f.TargetCmdline, f.RunningCmdline)
	}
	return ""
}

// normArgs is a command line in a comparable form: the arguments drd
// adds or the boot loader sets (BOOT_IMAGE=, panic=, drd.trial=) left
// out, and root=, which a soft-reboot does not use (the new root is
// /run/nextroot).
func normArgs(c string) string {
	var keep []string
	trialWatchdog := watchdogArmedBy(c)
	for _, a := range strings.Fields(c) {
		if trialWatchdog && isTrialWatchdogArg(a) {
			continue
		}
		k, _, _ := strings.Cut(a, "=")
		switch k {
		case "BOOT_IMAGE", "panic", TrialArg, "initrd", "root":
			continue
		}
		keep = append(keep, a)
	}
	return strings.Join(keep, " ")
}

// kexecRefusal is why kexec_file_load cannot be used, "" when it can.
func kexecRefusal(f SwitchFacts) string {
	switch {
	case !f.KexecFileLoad:
		return "the running kernel lacks kexec_file_load (CONFIG_KEXEC_FILE)"
	case !f.KexecLoadDisabledKnown:
		return "kernel.kexec_load_disabled could not be read (/proc/sys/kernel/kexec_load_disabled)"
	case f.KexecLoadDisabled:
		return "kernel.kexec_load_disabled=1: kexec is off until the next firmware boot"
	}
	return ""
}

// ChooseSwitch decides how to restart into the target: the switch asked
// for, or an error that says why it cannot be; for auto, soft when the
// kernel, initramfs and command line stay and systemd has soft-reboot,
// else kexec when the kernel allows it, else firmware.
func ChooseSwitch(want Switch, f SwitchFacts) (Choice, error) {
	switch want {
	case SwitchNone:
		return Choice{Switch: SwitchNone, Why: "no reboot asked for"}, nil
	case SwitchFirmware:
		return Choice{Switch: SwitchFirmware, Why: "asked for"}, nil
	case SwitchSoft:
		if why := softRefusal(f); why != "" {
			return Choice{}, fmt.Errorf("cannot soft-reboot: %s; use -x reboot=kexec, firmware or auto", why)
		}
		return Choice{Switch: SwitchSoft, Why: "asked for; kernel, initramfs and command line stay"}, nil
	case SwitchKexec:
		if why := kexecRefusal(f); why != "" {
			return Choice{}, fmt.Errorf("cannot kexec: %s; use -x reboot=firmware", why)
		}
		return Choice{Switch: SwitchKexec, Why: "asked for"}, nil
	case SwitchAuto:
		var c Choice
		if why := softRefusal(f); why == "" {
			c.Switch, c.Why = SwitchSoft, "kernel, initramfs and command line stay, systemd has soft-reboot"
			return c, nil
		} else {
			c.Refused = append(c.Refused, "soft: "+why)
		}
		if why := kexecRefusal(f); why == "" {
			c.Switch, c.Why = SwitchKexec, "the kernel allows kexec_file_load: no firmware, no boot loader"
			return c, nil
		} else {
			c.Refused = append(c.Refused, "kexec: "+why)
		}
		c.Switch, c.Why = SwitchFirmware, "the faster switches are refused"
		return c, nil
	}
	return Choice{}, fmt.Errorf("reboot=%q: unknown switch", want)
}

// ParseSystemdVersion reads the version from the first line of
// `systemctl --version` ("systemd 252 (252.30-1~deb12u2)").
func ParseSystemdVersion(out string) (int, error) {
	line, _, _ := strings.Cut(out, "\n")
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "systemd" {
		return 0, fmt.Errorf("systemctl --version said %q: want \"systemd N ...\"", line)
	}
	n := 0
	for _, c := range f[1] {
		if c < '0' || c > '9' || n > 1e6 {
			return 0, fmt.Errorf("systemctl --version said %q: %q is no version number", line, f[1])
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

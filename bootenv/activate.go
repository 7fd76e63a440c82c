package bootenv

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/drd-linux/drd/internal/report"
)

// ActivateOptions of drd activate and drd deactivate.
type ActivateOptions struct {
	Image      string // the image to activate; "": the only inactive one
	Deactivate bool   // boot the booted image again instead
	Trial      bool   // the next boots only, counted
	Tries      int    // trial boots before GRUB returns to the booted image
	Force      bool   // activate an image that failed its trial boot
	Preview    bool
	// Reboot is how to restart into the target when done (SwitchNone:
	// not at all); Switcher does it (required unless SwitchNone).
	Reboot   Switch
	Switcher Switcher
	// Watchdog is the deadline, in seconds, of the softdog a kexec or
	// soft-reboot trial arms until its boot check passes (0: none;
	// TrialWatchdogArgs). A soft-reboot trial arms it with ArmWatchdog
	// right before the soft reboot, and stops it with StopWatchdog if the
	// soft reboot is refused (nil: no watchdog for a soft trial).
	Watchdog     int
	ArmWatchdog  WatchdogArmer
	StopWatchdog WatchdogStopper
}

// Activate makes an image the boot target of every following boot, or
// of the next opt.Tries boots (trial), or (Deactivate) the booted image
// again: drd's menu and block on every image's /boot, the images'
// records, and on UEFI, for a lasting switch, BootOrder.
func (m Machine) Activate(ctx context.Context, opt ActivateOptions, r report.Reporter) error {
	if opt.Tries == 0 {
		opt.Tries = DefaultTries
	}
	r.Step("Scanning for system images")
	st, err := m.Scan(ctx)
	if err != nil {
		return err
	}
	booted := st.Booted
	target := booted
	switch {
	case opt.Deactivate:
	case opt.Image == booted.Name:
	default:
		if target, err = st.Inactive(opt.Image); err != nil {
			return err
		}
	}
	if !bootable(target) {
		return fmt.Errorf("%s is %w", target.Name, errNoBootFS)
	}
	if !bootable(booted) {
		return fmt.Errorf("the booted image %s is %w", booted.Name, errNoBootFS)
	}
	if !opt.Deactivate {
		if err := CheckActivatable(target, opt.Force); err != nil {
			return err
		}
		if err := CheckOnDisk(target); err != nil {
			return err
		}
		if !target.Booted {
			r.Step("Checking the init of %s", target.Name)
			if err := m.CheckInit(target); err != nil {
				return err
			}
		}
	}
	cur := BootState{Next: booted.Name}
	if st.Boot != nil {
		cur = *st.Boot
	}
	var next BootState
	if opt.Deactivate {
		next = PlanDeactivate(cur, booted.Name)
	} else if next, err = PlanActivate(cur, booted.Name, target.Name, opt.Trial, opt.Tries); err != nil {
		return err
	}
	if next.Trial != "" {
		// GRUB's trial boots arm the same watchdog as kexec's (drd's
		// menu reads the deadline from the block).
		next.Watchdog = opt.Watchdog
		if err := next.validate(); err != nil {
			return err
		}
	}
	what := fmt.Sprintf("%s boots from now on", next.Next)
	if next.Trial != "" {
		what = fmt.Sprintf("%s boots on trial for at most %d boots, then %s again unless its trial passes", next.Trial, next.Tries, next.Next)
	}
	var choice Choice
	if opt.Reboot != SwitchNone && !opt.Deactivate {
		if choice, err = m.chooseAndLoad(ctx, opt, target, r); err != nil {
			return err
		}
	} else if opt.Reboot != SwitchNone {
		choice = Choice{Switch: SwitchFirmware, Why: "asked for"}
	}
	// A kexec or soft-reboot trial leaves the persistent boot target as
	// it is: the trial is carried by the kexec command line (drd.trial=)
	// or a file in /run (SoftTrialPath), and a panic, hang or reset boots
	// the booted image by the firmware.
	direct := opt.Trial && (choice.Switch == SwitchKexec || choice.Switch == SwitchSoft)
	if direct {
		what = fmt.Sprintf("%s boots once on trial by %s; the boot target stays %s until its health checks pass", target.Name, choice.Switch, booted.Name)
	}
	if opt.Preview {
		r.Step("Preview: %s (nothing was written)", what)
		return nil
	}
	if choice.Switch == SwitchSoft {
		arm := opt.Trial && opt.Watchdog > 0 && opt.ArmWatchdog != nil && opt.StopWatchdog != nil
		undo, err := m.prepareSoft(ctx, target, opt.Trial, arm, r)
		if err != nil {
			return err
		}
		switched := false
		defer func() {
			if !switched {
				undo()
			}
		}()
		sw := switchedWhenDone{Switcher: opt.Switcher, done: &switched}
		if arm {
			sw.arm = func() error { return opt.ArmWatchdog(opt.Watchdog) }
			sw.stop = func() {
				if dev, err := SoftdogDevice(m.SysDir); err == nil && dev != "" {
					if err := opt.StopWatchdog(dev); err != nil {
						r.Warn("the soft reboot did not happen and the trial's watchdog /dev/%s could not be stopped: %v; it resets the machine", dev, err)
					}
				}
			}
		}
		opt.Switcher = sw
	}
	if direct {
		prior := target.State
		marks := []Mark{{Image: target.Name, State: Trial, Action: "activate", Result: "succeeded",
			Detail: fmt.Sprintf("%s trial; the boot target stays %s", choice.Switch, booted.Name)}}
		if err := m.applyMarks(st, marks, r); err != nil {
			return err
		}
		r.Step("Done: %s", what)
		err := m.restart(ctx, opt, choice, r)
		if err != nil {
			// No kexec: the image is not on trial; a stale trial state
			// would make the next boot check call it bad.
			back := []Mark{{Image: target.Name, State: orState(prior, Complete), Action: "activate", Result: "failed",
				Detail: fmt.Sprintf("the %s trial did not start: %v", choice.Switch, err)}}
			if merr := m.applyMarks(st, back, r); merr != nil {
				r.Warn("%v", merr)
			}
		}
		return err
	}
	var marks []Mark
	for _, img := range st.Images {
		switch {
		case opt.Deactivate && !img.Booted && (img.State == Activated || img.Name == cur.Target() && img.Name != booted.Name):
			state := State("")
			if img.State == Activated {
				state = Complete
			}
			marks = append(marks, Mark{Image: img.Name, State: state, Action: "deactivate", Result: "succeeded", Detail: "the booted image " + booted.Name + " boots next"})
		case !opt.Deactivate && img == target && !img.Booted:
			detail := "boot target"
			if opt.Trial {
				detail = fmt.Sprintf("trial boot target, %d tries", opt.Tries)
			}
			marks = append(marks, Mark{Image: img.Name, State: Activated, Reason: "", Action: "activate", Result: "succeeded", Detail: detail})
		}
	}
	if err := m.switchTarget(st, next, []string{target.Name, booted.Name}, marks, r); err != nil {
		return err
	}
	r.Step("Done: %s", what)
	return m.restart(ctx, opt, choice, r)
}

// switchedWhenDone is a Switcher that records a restart that was set
// off, and arms a watchdog (arm, nil for none) just before it; stop
// stops it again when the restart is refused.
type switchedWhenDone struct {
	Switcher
	done *bool
	arm  func() error
	stop func()
}

func (s switchedWhenDone) Restart(ctx context.Context, sw Switch) error {
	if s.arm != nil {
		if err := s.arm(); err != nil {
			return fmt.Errorf("arming the trial's watchdog (softdog): %w; -x watchdog=0 soft-reboots without one", err)
		}
	}
	err := s.Switcher.Restart(ctx, sw)
	*s.done = err == nil
	if err != nil && s.stop != nil {
		s.stop()
	}
	return err
}

// restart restarts the machine by the chosen switch, if any.
func (m Machine) restart(ctx context.Context, opt ActivateOptions, c Choice, r report.Reporter) error {
	if c.Switch == SwitchNone {
		return nil
	}
	if opt.Switcher == nil {
		return fmt.Errorf("reboot=%s: no way to restart was given (a bug in the caller)", c.Switch)
	}
	r.Step("Rebooting by %s", c.Switch)
	if err := opt.Switcher.Restart(ctx, c.Switch); err != nil {
		return fmt.Errorf("rebooting by %s: %w", c.Switch, err)
	}
	return nil
}

// switchTarget writes a decided boot target, the one way for drd activate
// and deactivate and for STAGEISL's set: drd's menu and block on every
// image's /boot (need: the images whose /boot must be written), then the
// images' records (marks), then the firmware's choice on UEFI: for a
// trial, BootNext to the trial image's disk; for a lasting switch, no
// BootNext and the next image's disk first in BootOrder.
func (m Machine) switchTarget(st *Status, next BootState, need []string, marks []Mark, r report.Reporter) error {
	r.Step("Writing the boot menu and target to every image's /boot")
	if err := m.WriteBootConfig(st, &next, need, r); err != nil {
		return err
	}
	if err := m.applyMarks(st, marks, r); err != nil {
		return err
	}
	if next.Trial != "" {
		return m.setBootNext(imageNamed(st, next.Trial), r)
	}
	if err := m.setBootNext(nil, r); err != nil {
		return err
	}
	return m.putFirst(imageNamed(st, next.Next), r)
}

func imageNamed(st *Status, name string) *Image {
	for _, img := range st.Images {
		if img.Name == name {
			return img
		}
	}
	return nil
}

// applyMarks changes the records of images: their state, reason and
// history. A record it cannot reach is a warning: the boot target is
// written already and decides.
func (m Machine) applyMarks(st *Status, marks []Mark, r report.Reporter) error {
	for _, mk := range marks {
		img := imageNamed(st, mk.Image)
		if img == nil {
			r.Warn("no image %s to record %q in", mk.Image, mk.Detail)
			continue
		}
		dir, release, err := m.openFS(img, "/", true)
		if err != nil {
			r.Warn("not recording %s in %s: %v", mk.Action, img.Name, err)
			continue
		}
		var rec *Record
		if img.Booted {
			rec, err = BootedRecord(dir)
		} else {
			rec, err = ReadRecord(dir)
		}
		if err == nil {
			if mk.State != "" {
				rec.State = mk.State
				rec.Reason = mk.Reason
				img.State, img.Reason = mk.State, mk.Reason
			}
			if mk.Action != "" {
				rec.AddEvent(mk.Action, mk.Result, mk.Detail)
			}
			err = WriteRecord(dir, rec)
		}
		if uerr := release(); uerr != nil {
			// The record is written and synced; the switch goes on.
			r.Warn("after recording %s in %s: %v", mk.Action, img.Name, uerr)
		}
		if err != nil {
			return fmt.Errorf("recording %s in %s: %w", mk.Action, img.Name, err)
		}
	}
	return nil
}

// chooseAndLoad decides how to reboot into target and, unless this is a
// preview, loads the kernel a kexec boots (before anything is written, so
// a failed load changes nothing); for auto a failed load falls back to
// the firmware. target's /boot is open only meanwhile.
func (m Machine) chooseAndLoad(ctx context.Context, opt ActivateOptions, target *Image, r report.Reporter) (Choice, error) {
	f, _, _ := bootFS(target)
	dir, release, err := m.openFS(target, f.MountPoint, false)
	if err != nil {
		return Choice{}, fmt.Errorf("opening the /boot of %s to choose how to reboot into it: %w", target.Name, err)
	}
	defer release()
	choice, plan, err := m.chooseSwitch(ctx, opt, target, dir)
	if err != nil {
		return choice, err
	}
	why := choice.Why
	if len(choice.Refused) > 0 {
		why += " (not by " + strings.Join(choice.Refused, "; not by ") + ")"
	}
	r.Step("Rebooting by %s when done: %s", choice.Switch, why)
	if plan == nil || opt.Preview {
		return choice, nil
	}
	if opt.Trial && opt.Watchdog > 0 && plan.Initrd != "" {
		m.addInitrdWatchdog(target, f.MountPoint, dir, plan, opt.Watchdog, r)
	}
	r.Step("Loading the kernel of %s (%s, %s) with kexec_file_load", target.Name, plan.Kernel, orText(plan.Initrd, "no initramfs"))
	r.Note("kexec command line: %s", plan.Cmdline)
	t0 := time.Now()
	if err := opt.Switcher.KexecLoad(dir, *plan); err != nil {
		if opt.Reboot != SwitchAuto {
			return choice, fmt.Errorf("loading the kernel of %s for kexec: %w; nothing was changed; use -x reboot=firmware", target.Name, err)
		}
		r.Warn("loading the kernel of %s for kexec failed: %v; rebooting by the firmware instead", target.Name, err)
		return Choice{Switch: SwitchFirmware, Why: "kexec failed to load"}, nil
	}
	// The kernel checks and hashes what it loads (its purgatory checks
	// the hashes again before the jump): part of the outage.
	r.Note("loaded in %.1f s", time.Since(t0).Seconds())
	return choice, nil
}

func orState(s, alt State) State {
	if s == "" {
		return alt
	}
	return s
}

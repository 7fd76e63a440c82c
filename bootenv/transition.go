package bootenv

import (
	"errors"
	"fmt"
	"strings"
)

// The state machine of activation and boot assessment, as pure
// functions: from the freshest block and the facts of this boot to the
// block to write and the records to change. Side effects are elsewhere
// (activate.go, assess.go).

// Mark is a change of one image's record.
type Mark struct {
	Image  string
	State  State  // "" keeps the state
	Reason string // why it is bad; "" clears it
	Action string // history event: activate, deactivate, boot
	Result string // succeeded, failed
	Detail string
}

// DefaultTries is how many trial boots GRUB makes before it returns to
// the last good image.
const DefaultTries = 2

// ErrNotActivatable is returned for an image that must not boot.
var ErrNotActivatable = errors.New("image not activatable")

// CheckActivatable refuses images whose contents are not whole (broken,
// cloning) and, unless forced, images that failed a trial boot.
func CheckActivatable(img *Image, force bool) error {
	switch img.State {
	case Broken, Cloning:
		return fmt.Errorf("%w: %s is %s (a clone or runcmd did not finish); run drd clone again with -x overwrite=true", ErrNotActivatable, img.Name, img.State)
	case Bad:
		if !force {
			return fmt.Errorf("%w: %s failed its trial boot (%s); fix it, or give -x force=true", ErrNotActivatable, img.Name, orText(img.Reason, "no reason recorded"))
		}
	}
	return nil
}

// CheckOnDisk refuses an inactive image that lives in an image file (its
// clone's target was a file, not a block device under /dev): no firmware
// boots a file, attached to a loop device or not. A clone made to a loop
// device the administrator attached (-t /dev/loop3) counts as a disk.
func CheckOnDisk(img *Image) error {
	if img.Booted || !InImageFile(img) {
		return nil
	}
	file := img.ImageFile
	if file == "" {
		file = img.Target
	}
	return fmt.Errorf("%w: %s lives in the image file %s, and no firmware boots a file; "+
		"to boot it, write the file to a disk (dd if=%s of=/dev/DISK bs=4M conv=fsync, then make that disk the boot disk) "+
		"or attach the file to a virtual machine as its disk", ErrNotActivatable, img.Name, file, file)
}

// InImageFile reports whether img was cloned to an image file.
func InImageFile(img *Image) bool {
	return img.Target != "" && !strings.HasPrefix(img.Target, "/dev/")
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// PlanActivate is the block that makes target the boot target: for
// every boot, or (trial) for the next tries boots only, after which GRUB
// boots the booted image again.
func PlanActivate(cur BootState, booted, target string, trial bool, tries int) (BootState, error) {
	if trial && target == booted {
		return BootState{}, fmt.Errorf("%s is the booted image: a trial boot is for an inactive image", target)
	}
	if tries < 1 || tries > MaxTries {
		return BootState{}, fmt.Errorf("tries=%d: want 1 to %d", tries, MaxTries)
	}
	next := BootState{Seq: cur.Seq + 1, Next: target}
	if trial {
		next = BootState{Seq: cur.Seq + 1, Next: booted, Trial: target, Tries: tries}
	}
	return next, next.validate()
}

// PlanDeactivate is the block that boots the booted image again.
func PlanDeactivate(cur BootState, booted string) BootState {
	return BootState{Seq: cur.Seq + 1, Next: booted}
}

// Assessment is what the boot-time pass does.
type Assessment struct {
	Write     *BootState // block to write; nil: none
	Marks     []Mark
	RunChecks bool // the booted image is on trial: run its health checks
}

// Assess reconciles the freshest block with the image that booted.
func Assess(cur BootState, have bool, booted string) Assessment {
	var a Assessment
	if !have {
		return a
	}
	switch {
	case cur.Trial != "" && cur.Trial == booted:
		a.RunChecks = true
		a.Marks = append(a.Marks, Mark{Image: booted, State: Trial, Action: "boot", Result: "succeeded",
			Detail: fmt.Sprintf("trial boot (%d tries left); health checks follow", cur.Tries)})
	case cur.Trial != "":
		reason := fmt.Sprintf("its trial boot did not come up (%s tries used: kernel panic, hang or failed start-up); %s booted instead", triesUsed(cur), booted)
		if cur.Tries > 0 {
			reason = fmt.Sprintf("its trial boot did not come up, or the boot loader could not start it (%d tries left); %s booted instead", cur.Tries, booted)
		}
		w := BootState{Seq: cur.Seq + 1, Next: cur.Next}
		if cur.Next == "" {
			w.Next = booted
		}
		a.Write = &w
		a.Marks = append(a.Marks, Mark{Image: cur.Trial, State: Bad, Reason: reason, Action: "boot", Result: "failed", Detail: reason})
	case cur.Next == booted:
		a.Marks = append(a.Marks, Mark{Image: booted, Action: "boot", Result: "succeeded"})
	default:
		a.Marks = append(a.Marks, Mark{Image: booted, Action: "boot", Result: "succeeded",
			Detail: fmt.Sprintf("%s was the boot target but could not be started (its disk missing?)", cur.Next)})
	}
	return a
}

// triesUsed guesses how many tries GRUB made: all of them when none are
// left.
func triesUsed(s BootState) string {
	if s.Tries == 0 {
		return "all"
	}
	return fmt.Sprint(s.Tries)
}

// PassTrial is the block and mark after the trial image passed its checks:
// it boots from now on.
func PassTrial(cur BootState, booted string) (BootState, Mark) {
	return BootState{Seq: cur.Seq + 1, Next: booted},
		Mark{Image: booted, State: Good, Action: "boot", Result: "succeeded", Detail: "trial boot passed its health checks"}
}

// FailTrial is the block and mark after the trial image failed: the last
// good image boots next.
func FailTrial(cur BootState, booted, reason string) (BootState, Mark) {
	next := cur.Next
	if next == "" || next == booted {
		next = booted // nothing better known; the caller warns
	}
	return BootState{Seq: cur.Seq + 1, Next: next},
		Mark{Image: booted, State: Bad, Reason: reason, Action: "boot", Result: "failed", Detail: reason}
}

// AssessDirect completes Assess for the trials GRUB did not start: a
// kexec or soft-reboot trial leaves drd's block (the persistent boot
// target) as it was and names the trial image on the kernel command line
// (TrialFromCmdline) or in /run (SoftTrialPath) instead: cmdlineTrial. The booted image named there is
// on trial: its health checks decide (PassTrial makes it the target,
// FailTrial keeps the last good one). An image left in state trial
// (inTrial) that neither booted nor is GRUB's trial never finished its
// checks: it panicked, hung, or was reset, and the firmware booted the
// persistent target instead; it is bad.
func AssessDirect(a Assessment, cur BootState, booted, cmdlineTrial string, inTrial []string) Assessment {
	if cmdlineTrial != "" && cmdlineTrial == booted && cur.Trial == "" {
		a.RunChecks = true
		a.Write = nil
		target := orText(cur.Next, "unchanged")
		a.Marks = []Mark{{Image: booted, State: Trial, Action: "boot", Result: "succeeded",
			Detail: fmt.Sprintf("kexec or soft-reboot trial boot (the persistent boot target stays %s); health checks follow", target)}}
	}
	for _, name := range inTrial {
		if name == booted || name == cur.Trial {
			continue
		}
		reason := fmt.Sprintf("its kexec or soft-reboot trial did not finish its health checks (kernel panic, hang or reset); %s booted by the firmware instead", booted)
		a.Marks = append(a.Marks, Mark{Image: name, State: Bad, Reason: reason, Action: "boot", Result: "failed", Detail: reason})
	}
	return a
}

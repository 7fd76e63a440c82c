package bootenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/report"
)

// ChecksDir holds the health checks of a trial boot: executables that
// must all exit 0.
const ChecksDir = "/etc/drd/checks.d"

// DefaultHealthTimeout is how long the health checks of a trial boot may
// take together.
const DefaultHealthTimeout = 5 * time.Minute

// CheckOptions of the boot-time pass.
type CheckOptions struct {
	HealthTimeout time.Duration
	Runner        execrun.Runner // health checks and systemctl
	NoReboot      bool           // after a failed trial, do not reboot (tests)
	// StopWatchdog stops the trial's softdog once the trial passed (nil:
	// a trial that armed one warns that it will reset the machine).
	StopWatchdog WatchdogStopper
}

// BootCheck runs at every boot, after boot-complete.target: it records
// what booted, reconciles the states with drd's block (a trial that did
// not come up is bad), refreshes drd's menu (kernels may have changed),
// and for a trial boot runs the health checks: all pass, the image is
// good and boots from now on; one fails, it is bad, the last good image
// is the boot target again, and the machine reboots into it.
func (m Machine) BootCheck(ctx context.Context, opt CheckOptions, r report.Reporter) error {
	if opt.HealthTimeout == 0 {
		opt.HealthTimeout = DefaultHealthTimeout
	}
	if opt.Runner == nil {
		opt.Runner = execrun.Real{}
	}
	r.Step("Scanning for system images")
	st, err := m.Scan(ctx)
	if err != nil {
		return err
	}
	booted := st.Booted
	cur, have := BootState{}, st.Boot != nil
	if have {
		cur = *st.Boot
	}
	cmdline, _ := os.ReadFile(filepath.Join(m.ProcDir, "cmdline"))
	var inTrial []string
	for _, img := range st.Images {
		if img.State == Trial {
			inTrial = append(inTrial, img.Name)
		}
	}
	trial := TrialFromCmdline(string(cmdline))
	soft, softWatchdog := m.takeSoftTrial()
	if trial == "" {
		trial = soft
	}
	a := AssessDirect(Assess(cur, have, booted.Name), cur, booted.Name, trial, inTrial)
	if booted.State == Activated || booted.State == Trial && !a.RunChecks {
		a.Marks = append(a.Marks, Mark{Image: booted.Name, State: Booted, Action: "boot", Result: "succeeded", Detail: "the activated image booted"})
	}
	r.Step("Booted %s; boot target %s", booted.Name, orText(cur.Target(), "not set"))
	if err := m.WriteBootConfig(st, a.Write, nil, r); err != nil {
		return fmt.Errorf("refreshing the boot configuration: %w", err)
	}
	if err := m.applyMarks(st, a.Marks, r); err != nil {
		return err
	}
	for _, mk := range a.Marks {
		if mk.State == Bad {
			r.Warn("%s is bad: %s", mk.Image, mk.Reason)
		}
	}
	m.regenerateGrubCfg(ctx, opt.Runner, r)
	if !a.RunChecks {
		return nil
	}
	r.Step("Running the health checks of the trial boot (%s, within %s)", filepath.Join(m.Root, ChecksDir), opt.HealthTimeout)
	reason := m.runChecks(ctx, opt, r)
	var next BootState
	var mark Mark
	if reason == "" {
		next, mark = PassTrial(cur, booted.Name)
	} else {
		next, mark = FailTrial(cur, booted.Name, reason)
	}
	if err := m.WriteBootConfig(st, &next, []string{next.Next}, r); err != nil {
		return err
	}
	if err := m.applyMarks(st, []Mark{mark}, r); err != nil {
		return err
	}
	if reason == "" {
		r.Step("%s passed its trial boot: it is good and boots from now on", booted.Name)
		err := m.putFirst(booted, r)
		m.disarmTrialWatchdog(watchdogArmedBy(string(cmdline)) || softWatchdog && soft == booted.Name, opt.StopWatchdog, r)
		return err
	}
	r.Warn("%s failed its trial boot: %s; %s boots next", booted.Name, reason, next.Next)
	if opt.NoReboot {
		return fmt.Errorf("%s failed its trial boot: %s", booted.Name, reason)
	}
	r.Step("Rebooting into %s", next.Next)
	if _, err := opt.Runner.Run(ctx, "systemctl", "--no-block", "reboot"); err != nil {
		return fmt.Errorf("rebooting into %s: %w", next.Next, err)
	}
	return nil
}

// disarmTrialWatchdog stops the softdog a trial armed (its command line,
// TrialWatchdogArgs, or drd before a soft reboot), after the trial
// passed and was made the target. A failed trial keeps it: it guards
// the reboot into the last good image.
func (m Machine) disarmTrialWatchdog(armed bool, stop WatchdogStopper, r report.Reporter) {
	if !armed {
		return
	}
	dev, err := SoftdogDevice(m.SysDir)
	switch {
	case err != nil:
		r.Warn("the trial's watchdog (softdog) could not be found: %v; if it is running it resets the machine (into the image that passed)", err)
		return
	case dev == "":
		r.Note("the trial armed softdog, but it is not loaded: no watchdog to stop")
		return
	case stop == nil:
		r.Warn("the trial's watchdog /dev/%s runs and nothing was given to stop it: it resets the machine (into the image that passed)", dev)
		return
	}
	if err := stop(dev); err != nil {
		r.Warn("stopping the trial's watchdog /dev/%s: %v; it resets the machine (into the image that passed) unless something else feeds it", dev, err)
		return
	}
	r.Step("Stopped the trial's watchdog (/dev/%s)", dev)
}

// runChecks runs every executable of checks.d in name order and returns
// why the first one failed, or "" when all passed.
func (m Machine) runChecks(ctx context.Context, opt CheckOptions, r report.Reporter) string {
	dir := filepath.Join(m.Root, ChecksDir)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		r.Note("no %s: the boot itself is the check", ChecksDir)
		return ""
	}
	if err != nil {
		return fmt.Sprintf("reading %s: %v", ChecksDir, err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	ctx, cancel := context.WithTimeout(ctx, opt.HealthTimeout)
	defer cancel()
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		info, err := os.Stat(p)
		if err != nil || !info.Mode().IsRegular() || info.Mode()&0o111 == 0 || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		_, err = opt.Runner.Run(ctx, p)
		if ctx.Err() != nil {
			return fmt.Sprintf("health check %s did not finish within %s", filepath.Join(ChecksDir, e.Name()), opt.HealthTimeout)
		}
		if err != nil {
			return fmt.Sprintf("health check %s failed %s", filepath.Join(ChecksDir, e.Name()), checkFailure(err))
		}
		r.Note("health check %s passed", e.Name())
	}
	return ""
}

// checkFailure turns a runner's error (`running "x": exit status 1`, then
// what x printed on stderr) into "(exit status 1): what it printed".
func checkFailure(err error) string {
	first, rest, _ := strings.Cut(err.Error(), "\n")
	if i := strings.Index(first, `": `); strings.HasPrefix(first, "running ") && i >= 0 {
		first = first[i+3:]
	}
	msg := "(" + first + ")"
	if rest = strings.Join(strings.Fields(rest), " "); rest != "" {
		msg += ": " + rest
	}
	return msg
}

package runcmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/inroot"
	"github.com/drd-linux/drd/internal/mountinfo"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/pkgdb"
	"github.com/drd-linux/drd/safety"
)

// Options of one drd runcmd.
type Options struct {
	Root        string   // root of the booted image: "/" or --root
	Image       string   // the inactive image's name; "" for the only one
	Argv        []string // the command
	Depots      []string // directories of the booted system shown read-only at the same path in the jail
	NoNetwork   bool     // the jail gets no network at all
	HostNetwork bool     // the jail shares the booted system's network namespace (warned); otherwise its own through slirp4netns
	AllowUnsafe bool     // run a command, or install packages, that are not DRD-safe anyway
	// PrecheckOnly: judge the command and its packages, print the
	// report on Stdio.Out and stop (as dupatch -precheck_only).
	PrecheckOnly bool
	ReportJSON   bool   // the report as JSON instead of text
	Name         string // the change's name in the event log; "" for the image's
	Note         string // a note for the event log
	User         string // who runs drd, for the event log
	Stdio        Stdio
	Env          []string // the caller's environment (os.Environ())
	Dir          string   // the caller's working directory, for relative paths in Argv; "": only absolute ones are checked
	Now          func() time.Time

	// Seams; zero values mean the real machine.
	Images  Images
	Jailer  Jailer
	Runner  execrun.Runner // dpkg-deb and grub-install on the booted system
	Exe     string         // drd's own executable (os.Executable)
	SysDir  string         // sysfs: "/sys" (finds the image's disk)
	ProcDir string         // procfs: "/proc" (the booted system's routes: the jail's subnet)
}

// Images finds, mounts and unmounts inactive images (bootenv).
type Images interface {
	Scan(ctx context.Context, root string) (*bootenv.Status, error)
	Mounted(root, name string) bool
	Mount(ctx context.Context, root, name string, r report.Reporter) (string, error)
	Umount(ctx context.Context, root, name string, r report.Reporter) error
}

// Jailer runs a Spec (Jail).
type Jailer interface {
	Run(ctx context.Context, spec *Spec, stdio Stdio, r report.Reporter) (*Result, error)
}

// preparer is a Jailer that can start a spec's network ahead of Run
// (Jail.Prepare).
type preparer interface {
	Prepare(spec *Spec, r report.Reporter) error
}

// RealImages are the images of the machine, through bootenv.
type RealImages struct{}

func (RealImages) Scan(ctx context.Context, root string) (*bootenv.Status, error) {
	return bootenv.Scan(ctx, root)
}
func (RealImages) Mount(ctx context.Context, root, name string, r report.Reporter) (string, error) {
	return bootenv.Mount(ctx, root, name, r)
}
func (RealImages) Umount(ctx context.Context, root, name string, r report.Reporter) error {
	return bootenv.Umount(ctx, root, name, r)
}

// Mounted reports whether something is mounted at the image's mount directory.
func (RealImages) Mounted(root, name string) bool {
	ms, err := mountinfo.Read("/proc")
	return err == nil && len(mountinfo.Under(ms, bootenv.MountDir(root, name))) > 0
}

func (o *Options) defaults() error {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Images == nil {
		o.Images = RealImages{}
	}
	if o.Jailer == nil {
		o.Jailer = Jail{}
	}
	if o.Runner == nil {
		o.Runner = execrun.Real{}
	}
	if o.SysDir == "" {
		o.SysDir = "/sys"
	}
	if o.ProcDir == "" {
		o.ProcDir = "/proc"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding drd's own executable: %w", err)
		}
		o.Exe = exe
	}
	return nil
}

// ErrInterrupted is returned when a signal stopped the command: the
// image is then marked broken.
var ErrInterrupted = errors.New("interrupted")

// ErrRefused is returned when the command or one of its packages is not
// DRD-safe and -x allow_unsafe=true was not given: nothing was run.
var ErrRefused = errors.New("not DRD-safe")

// Run runs a DRD-safe command against the inactive image in the runcmd
// environment: the image is mounted (and unmounted after, unless it was
// mounted already), marked modifying while the command runs, and then
// complete again, or broken if the command was interrupted. The event
// and the package changes go into the image's history and the event log.
func Run(ctx context.Context, opt Options, r report.Reporter) error {
	if err := opt.defaults(); err != nil {
		return err
	}
	cmdErr := safety.CheckCommand(opt.Argv)
	if cmdErr != nil && !opt.AllowUnsafe && !opt.PrecheckOnly {
		return fmt.Errorf("%w: %v; nothing was run", ErrRefused, cmdErr)
	}
	if err := checkDepots(opt.Depots); err != nil {
		return err
	}
	unsafeList, err := readUnsafeList(opt.Root)
	if err != nil {
		return err
	}
	img, wasMounted, err := findImage(ctx, opt)
	if err != nil {
		return err
	}
	if err := usable(img); err != nil {
		return err
	}
	dir := bootenv.MountDir(opt.Root, img.Name)
	if !wasMounted {
		if dir, err = opt.Images.Mount(ctx, opt.Root, img.Name, r); err != nil {
			return err
		}
		defer func() {
			if uerr := opt.Images.Umount(context.WithoutCancel(ctx), opt.Root, img.Name, r); uerr != nil {
				r.Warn("%s stays mounted at %s: %v", img.Name, dir, uerr)
			}
		}()
	}
	rep := &Report{Image: img.Name, Command: opt.Argv, CommandSafe: cmdErr == nil}
	if cmdErr != nil {
		rep.CommandProblem = cmdErr.Error()
	}
	return runIn(ctx, opt, img.Name, dir, unsafeList, rep, r)
}

// checkDepots refuses a -x depot= that is not an absolute path to a
// directory: it is bound at its own path in the jail.
func checkDepots(depots []string) error {
	for _, d := range depots {
		if !filepath.IsAbs(d) {
			return fmt.Errorf("-x depot=%s: not an absolute path: name the directory from /", d)
		}
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("-x depot=%s: %w", d, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("-x depot=%s is not a directory: a depot is a directory of packages, shown read-only in the jail", d)
		}
	}
	return nil
}

// findImage finds the inactive image to change: an image named and
// mounted already (drd mount) by its own record, without scanning every
// disk; otherwise by bootenv's scan.
func findImage(ctx context.Context, opt Options) (*bootenv.Image, bool, error) {
	if opt.Image != "" && opt.Images.Mounted(opt.Root, opt.Image) {
		rec, err := bootenv.ReadRecord(bootenv.MountDir(opt.Root, opt.Image))
		if err == nil && rec.Name == opt.Image {
			return &bootenv.Image{Record: *rec}, true, nil
		}
	}
	st, err := opt.Images.Scan(ctx, opt.Root)
	if err != nil {
		return nil, false, err
	}
	img, err := st.Inactive(opt.Image)
	if err != nil {
		return nil, false, err
	}
	return img, opt.Images.Mounted(opt.Root, img.Name), nil
}

// usable refuses an image whose clone did not finish.
func usable(img *bootenv.Image) error {
	if img.State == bootenv.Cloning {
		return fmt.Errorf("%s is being cloned: wait for drd clone to finish", img.Name)
	}
	if img.State != bootenv.Broken {
		return nil
	}
	for i := len(img.History) - 1; i >= 0; i-- {
		switch img.History[i].Action {
		case "runcmd":
			return nil // a runcmd was interrupted: another one may finish the work
		case "clone":
			return fmt.Errorf("%s is broken: its clone did not finish; run drd clone -x overwrite=true again", img.Name)
		}
	}
	return fmt.Errorf("%s is broken: run drd clone -x overwrite=true again", img.Name)
}

// runIn checks the command and its packages, then runs it in the jail on
// the image mounted at dir.
func runIn(ctx context.Context, opt Options, name, dir, unsafeList string, rep *Report, r report.Reporter) error {
	list, _ := safety.ParseUnsafeList(unsafeList) // checked by readUnsafeList
	if h, ok := findHostOnly(opt.Argv, opt.Depots, opt.Dir, existsIn(dir), existsIn("/")); ok {
		return hostOnlyError(h, opt.Argv, name)
	}
	r.Step("Checking %s and its packages (DRD-safe)", strings.Join(opt.Argv, " "))
	if err := precheck(ctx, opt, dir, list, rep, r); err != nil {
		return err
	}
	rep.Decide(opt.AllowUnsafe)
	reportPackages(rep.Packages, r)
	if opt.PrecheckOnly {
		if err := writeReport(opt, rep); err != nil {
			return err
		}
		if rep.Result == "refused" {
			return fmt.Errorf("%w: %s would be refused (see the report); nothing was run", ErrRefused, strings.Join(rep.Refusals, "; "))
		}
		r.Note("precheck only: nothing was run")
		return nil
	}
	if rep.Result == "refused" {
		writeReport(opt, rep)
		err := fmt.Errorf("%w: refusing the whole command; nothing was run or installed:\n%s\n-x allow_unsafe=true runs it anyway", ErrRefused, strings.Join(rep.Refusals, "\n"))
		logEvent(opt, name, rep, nil, nil, err, r)
		return err
	}
	for _, ref := range rep.Refusals {
		r.Warn("not DRD-safe, run anyway (-x allow_unsafe=true): %s", ref)
	}
	return execute(ctx, opt, name, dir, unsafeList, rep, r)
}

// execute runs the command in the jail: the image is marked modifying,
// and after the run the package changes go into its history and the
// event log.
func execute(ctx context.Context, opt Options, name, dir, unsafeList string, rep *Report, r report.Reporter) error {
	spec := Plan(planInput(opt, name, dir))
	// slirp4netns starts now, while drd stages its files, reads the package
	// database and writes the record (its start is most of the jail's
	// cost: docs/runcmd.md).
	if p, ok := opt.Jailer.(preparer); ok {
		if err := p.Prepare(spec, r); err != nil {
			return err
		}
		defer spec.Network.Close()
	}
	rec, err := bootenv.ReadRecord(dir)
	if err != nil {
		return fmt.Errorf("reading the record of %s: %w", name, err)
	}
	staging, err := openStage(opt.Exe)
	if err != nil {
		return err
	}
	defer staging.close()
	spec.Files = staging.files()
	prev := rec.State
	var (
		before string // dpkg's status, as the command found it
		stamp  string
		marked bool
	)
	// drd's own work before the command, done while the jail's init
	// starts (Spec.Before): its files staged, the package database as
	// it is, the image marked modifying.
	spec.Before = func() error {
		// The copy of drd (processor) runs beside the record's write
		// (the disk).
		filled := make(chan error, 1)
		go func() {
			filled <- staging.fill(inspectConfig{UnsafeList: unsafeList, AllowUnsafe: opt.AllowUnsafe}, opt.Exe)
		}()
		before, _ = pkgdb.StatusText(dir) // "": no database, no package
		stamp = pkgdb.Stamp(dir)
		rec.State = bootenv.Modifying
		werr := bootenv.WriteRecord(dir, rec)
		if ferr := <-filled; ferr != nil {
			rec.State = prev
			if werr == nil {
				if uerr := bootenv.WriteRecord(dir, rec); uerr != nil {
					return errors.Join(ferr, fmt.Errorf("%s stays marked modifying (nothing ran): %w", name, uerr))
				}
			}
			return ferr
		}
		if werr != nil {
			rec.State = prev
			return fmt.Errorf("marking %s modifying: %w", name, werr)
		}
		marked = true
		return nil
	}
	cmdline := strings.Join(opt.Argv, " ")
	r.Step("Running %s in the runcmd environment of %s", cmdline, name)
	res, runErr := runInJail(ctx, opt, dir, spec, opt.Stdio, r)
	if !marked {
		// The jail stopped before the command: nothing ran, the image
		// was not marked.
		if runErr == nil {
			runErr = errors.New("the jail ran no command")
		}
		return runErr
	}
	if res != nil {
		reportProcs(res, r)
		r.Note("the command ran %s in the jail", res.Elapsed.Round(1e6))
	}
	hooked := readVerdicts(staging)
	reportPackages(hooked, r)
	var changes []pkgdb.Change
	if pkgdb.Stamp(dir) != stamp {
		// Parsed only when dpkg changed it (dpkg -l does not).
		changes = pkgdb.Diff(pkgdb.ParseStatus(before), pkgdb.Read(dir))
	}
	for _, c := range changes {
		r.Note("%s", c.Text())
	}

	result, err := outcome(ctx, opt.Argv[0], res, runErr)
	if err == nil {
		if berr := redoBootLoader(ctx, opt, dir, staging, changes, r); berr != nil {
			result, err = "failed", berr
		}
	}
	if failed, e := staging.read(failedFile); e == nil && err != nil && !errors.Is(err, ErrInterrupted) {
		err = fmt.Errorf("%w: drd's apt hook could not judge apt's packages, and stopped apt before dpkg: %s", ErrRefused, failed)
	} else if stopped, e := staging.read(stoppedFile); e == nil && err != nil && !errors.Is(err, ErrInterrupted) {
		err = fmt.Errorf("%w: %s", ErrRefused, stopped)
	}
	switch {
	case errors.Is(err, ErrInterrupted):
		rec.State = bootenv.Broken
	case err == nil && (prev == bootenv.Broken || prev == bootenv.Modifying):
		rec.State = bootenv.Complete
	default:
		rec.State = prev
	}
	rec.AddEvent("runcmd", result, cmdline)
	rec.History[len(rec.History)-1].Changes = changes
	if werr := bootenv.WriteRecord(dir, rec); werr != nil {
		return errors.Join(err, fmt.Errorf("writing the record of %s: %w", name, werr))
	}
	r.Note("%s is %s; %d package(s) changed", name, rec.State, len(changes))
	logEvent(opt, name, rep, append(slices.Clone(rep.Packages), hooked...), changes, err, r)
	if err != nil {
		return fmt.Errorf("running %s in %s: %w", cmdline, name, err)
	}
	return nil
}

// runInJail runs spec in the jail and then removes the placeholders it
// left in the image at dir: those its init reported and those drd finds
// itself (an init killed before it could report), which were missing
// before the run and are empty now.
func runInJail(ctx context.Context, opt Options, dir string, spec *Spec, stdio Stdio, r report.Reporter) (*Result, error) {
	ph := missingPlaceholders(dir, spec)
	res, err := opt.Jailer.Run(ctx, spec, stdio, r)
	if res != nil {
		for _, p := range res.Placeholders {
			if !slices.Contains(ph, p) {
				ph = append(ph, p)
			}
		}
	}
	if rerr := RemovePlaceholders(dir, ph); rerr != nil {
		r.Warn("%v", rerr)
	}
	return res, err
}

// missingPlaceholders are, for each placeholder step of spec, the
// topmost path on the way to its target that the image at dir lacks.
func missingPlaceholders(dir string, spec *Spec) []string {
	tr := inroot.Mounts(dir)
	var out []string
	for _, m := range spec.Mounts {
		if !m.Placeholder {
			continue
		}
		p := "/"
		for _, part := range strings.Split(strings.Trim(filepath.Clean(m.Target), "/"), "/") {
			p = filepath.Join(p, part)
			if _, err := tr.Lstat(p); err != nil {
				if !slices.Contains(out, p) {
					out = append(out, p)
				}
				break
			}
		}
	}
	return out
}

// planInput is what Plan needs for the image mounted at dir.
func planInput(opt Options, name, dir string) PlanInput {
	in := PlanInput{Root: dir, Image: name, Argv: opt.Argv, Env: opt.Env, Depots: opt.Depots, NoNet: opt.NoNetwork, HostNet: opt.HostNetwork,
		Staging: true, BootDevices: installDevices(dir)}
	var dns string // the jail's resolver when the image's is on loopback
	if !opt.NoNetwork && !opt.HostNetwork {
		if subnet, ok := jailSubnet(readRoutes(opt.ProcDir).used); ok {
			in.Subnet, dns = subnet.String(), dnsAddr(subnet)
		}
	}
	in.ResolvTarget, in.ResolvConf, in.DNSHost = resolvConf(opt.Root, dir, dns)
	if _, err := inroot.Mounts(dir).Lstat("usr/sbin/policy-rc.d"); err == nil {
		in.PolicyRC = true
	}
	return in
}

// writeReport prints the report on the command's standard output.
func writeReport(opt Options, rep *Report) error {
	var w io.Writer = io.Discard
	if opt.Stdio.Out != nil {
		w = opt.Stdio.Out
	}
	if opt.ReportJSON {
		return rep.WriteJSON(w)
	}
	return rep.WriteText(w)
}

// outcome turns the jail's result into the event's result and drd's error.
func outcome(ctx context.Context, prog string, res *Result, err error) (string, error) {
	switch {
	case ctx.Err() != nil:
		return "interrupted", fmt.Errorf("%w: the image is marked broken; run drd runcmd again (dpkg --configure -a, apt-get -f install) to finish the work", ErrInterrupted)
	case err != nil:
		return "failed", err
	case res.Signal == "SIGINT" || res.Signal == "SIGHUP":
		// Ctrl-C at the command's terminal (drd relays it; pty.go), or the
		// terminal hung up: the operator stopped the command.
		return "interrupted", fmt.Errorf("%w: %s was stopped by %s; the image is marked broken; run drd runcmd again (dpkg --configure -a, apt-get -f install) to finish the work", ErrInterrupted, prog, res.Signal)
	case res.Signal != "":
		return "failed", fmt.Errorf("%s was killed by %s", prog, res.Signal)
	case res.Exit != 0:
		return "failed", fmt.Errorf("%s exited with status %d", prog, res.Exit)
	}
	return "succeeded", nil
}

// reportProcs warns of the processes the command left running: a
// DRD-unsafe package started them (the white paper's unterminated
// processes).
func reportProcs(res *Result, r report.Reporter) {
	for _, p := range res.Leftovers {
		how := "stopped it with SIGTERM"
		for _, k := range res.Killed {
			if k == p.PID {
				how = "killed it with SIGKILL"
			}
		}
		r.Warn("the command left process %s running in the runcmd environment; drd %s (an unterminated process: not DRD-safe)", p, how)
	}
	if len(res.Escaped) > 0 {
		r.Warn("processes %v were still in the jail's cgroup after it ended; drd killed them", res.Escaped)
	}
}

// readVerdicts reads what the apt hook judged.
func readVerdicts(st *stage) []safety.Verdict {
	data, err := st.read(verdictsFile)
	if err != nil {
		return nil
	}
	var vs []safety.Verdict
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var v safety.Verdict
		if json.Unmarshal(sc.Bytes(), &v) == nil {
			vs = append(vs, v)
		}
	}
	return vs
}

// reportPackages says how safe each package is: a note for the safe and
// neutralized ones (naming what neutralizes them), a warning for an
// unsafe one (it is then either refused or allowed).
func reportPackages(vs []safety.Verdict, r report.Reporter) {
	for _, v := range vs {
		switch v.Level {
		case safety.Safe:
			r.Note("%s %s %s: DRD-safe", v.Action, v.Package, v.Version)
		case safety.Neutralized:
			var how []string
			for _, f := range v.Findings {
				how = append(how, fmt.Sprintf("%s line %d: %s: %s", f.Script, f.Line, f.Text, f.Why))
			}
			r.Note("%s %s %s: neutralized by the runcmd environment: %s", v.Action, v.Package, v.Version, strings.Join(how, "; "))
		case safety.Unsafe:
			r.Warn("%s %s %s is not DRD-safe: %s", v.Action, v.Package, v.Version, strings.Join(v.Reasons(), "; "))
		}
	}
}

// readUnsafeList reads the booted system's unsafe list (none if missing).
func readUnsafeList(root string) (string, error) {
	p := filepath.Join(root, safety.UnsafeListPath)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if _, err := safety.ParseUnsafeList(string(data)); err != nil {
		return "", err
	}
	return string(data), nil
}

// policyRC makes every request to start, stop or restart a service a
// no-op: invoke-rc.d and deb-systemd-invoke ask it first (exit 101: the
// action is forbidden).
const policyRC = `#!/bin/sh
# drd runcmd: no service of the inactive image is started, stopped or
# restarted while it is changed: the booted system's daemons keep running.
exit 101
`

// aptConf hooks drd's package judge before dpkg in every apt run, with
// version 3 of the hook protocol (removals and upgrades listed too). A
// file of the image's apt.conf.d, read after it, can clear it: the
// command's own apt gets the hook on its command line too (aptArgs), and
// this one then steps aside (inspectMain).
const aptConf = `DPkg::Pre-Install-Pkgs:: "` + hookCmd + ` ` + confHookArg + `";
DPkg::Tools::Options::` + stagingDir + `/drd::Version "3";
DPkg::Path "` + dpkgPath + `";
`

// The hook as apt runs it; confHookArg marks the copy of apt.conf.
const (
	hookCmd     = stagingDir + "/drd " + InspectArg
	confHookArg = "--from-apt-conf"
)

// aptArgs are the options given on the command line of the command's
// apt (apt's last word over every configuration file): drd's hook, its
// protocol, the dpkg apt runs and the PATH it runs it with.
var aptArgs = []string{
	"-o", "DPkg::Pre-Install-Pkgs::=" + hookCmd,
	"-o", "DPkg::Tools::Options::" + stagingDir + "/drd::Version=3",
	"-o", "Dir::Bin::dpkg=/usr/bin/dpkg",
	"-o", "DPkg::Path=" + dpkgPath,
}

// dpkgPath is the PATH apt gives dpkg and so every maintainer script
// (apt sets PATH to DPkg::Path, by default /usr/sbin:/usr/bin:/sbin:/bin,
// dropping the command's): drd's boot-loader shims first, or a kernel's
// zz-update-grub hook would run the image's real update-grub.
const dpkgPath = shimDir + ":/usr/sbin:/usr/bin:/sbin:/bin"

// aptDryConf is added for a precheck: apt does not ask before it
// downloads; the hook stops it before dpkg runs.
const aptDryConf = `APT::Get::Assume-Yes "true";
`

// resolvConf is the jail's resolver configuration for the image at dir
// (booted system at root), and where it goes: when the image's
// /etc/resolv.conf is a link into /run (systemd-resolved, resolvconf),
// the jail's empty /run would leave it dangling: the booted system's
// resolver configuration is written there. With a network of its own
// (dns: the address of its DNS forwarder), a resolver on loopback is
// replaced by dns, and host is its address (dns.go); a regular file of
// the image is then covered, not changed.
func resolvConf(root, dir, dns string) (target, content, host string) {
	tr := inroot.Mounts(dir)
	link, err := tr.Readlink("etc/resolv.conf")
	var data []byte
	if err == nil {
		if !filepath.IsAbs(link) {
			link = filepath.Join("/etc", link)
		}
		if !strings.HasPrefix(link, "/run/") {
			return "", "", ""
		}
		if data, err = os.ReadFile(filepath.Join(root, "etc/resolv.conf")); err != nil {
			return "", "", ""
		}
		target, content = link, string(data)
	} else {
		if data, err = tr.ReadFile("etc/resolv.conf"); err != nil {
			return "", "", ""
		}
		target = "/etc/resolv.conf" // only when it is rewritten
	}
	if dns != "" {
		if out, h := jailResolv(data, dns); h != "" {
			return target, string(out), h
		}
	}
	if target == "/etc/resolv.conf" {
		return "", "", ""
	}
	return target, content, ""
}

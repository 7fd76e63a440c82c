package runcmd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/mountinfo"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/safety"
)

// Options of one drd runcmd.
type Options struct {
	Root        string   // root of the booted image: "/" or --root
	Image       string   // the inactive image's name; "" for the only one
	Argv        []string // the command
	Binds       []string // directories of the booted system shown read-only in the jail
	NoNetwork   bool     // the jail gets no network at all
	ForceUnsafe bool     // install packages that are not DRD-safe anyway
	Stdio       Stdio
	Env         []string // the caller's environment (os.Environ())

	// Seams; zero values mean the real machine.
	Images Images
	Jailer Jailer
	Runner execrun.Runner // dpkg-deb on the booted system
	Exe    string         // drd's own executable (os.Executable)
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

// Run runs a DRD-safe command against the inactive image in the runcmd
// environment: the image is mounted (and unmounted after, unless it was
// mounted already), marked modifying while the command runs, and then
// complete again, or broken if the command was interrupted. The event
// and the package changes go into the image's history.
func Run(ctx context.Context, opt Options, r report.Reporter) error {
	if err := opt.defaults(); err != nil {
		return err
	}
	if err := safety.CheckCommand(opt.Argv); err != nil {
		return err
	}
	unsafeList, err := readUnsafeList(opt.Root)
	if err != nil {
		return err
	}
	st, err := opt.Images.Scan(ctx, opt.Root)
	if err != nil {
		return err
	}
	img, err := st.Inactive(opt.Image)
	if err != nil {
		return err
	}
	if err := usable(img); err != nil {
		return err
	}
	wasMounted := opt.Images.Mounted(opt.Root, img.Name)
	dir, err := opt.Images.Mount(ctx, opt.Root, img.Name, r)
	if err != nil {
		return err
	}
	if !wasMounted {
		defer func() {
			if uerr := opt.Images.Umount(context.WithoutCancel(ctx), opt.Root, img.Name, r); uerr != nil {
				r.Warn("%s stays mounted at %s: %v", img.Name, dir, uerr)
			}
		}()
	}
	return runIn(ctx, opt, img.Name, dir, unsafeList, r)
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

// runIn runs the command in the jail on the image mounted at dir.
func runIn(ctx context.Context, opt Options, name, dir, unsafeList string, r report.Reporter) error {
	rec, err := bootenv.ReadRecord(dir)
	if err != nil {
		return fmt.Errorf("reading the record of %s: %w", name, err)
	}
	if err := preInspect(ctx, opt, dir, unsafeList, r); err != nil {
		return err
	}
	staging, err := writeStaging(unsafeList, opt.ForceUnsafe)
	if err != nil {
		return err
	}
	defer os.RemoveAll(staging)
	in := PlanInput{Root: dir, Image: name, Argv: opt.Argv, Env: opt.Env, Binds: opt.Binds, NoNet: opt.NoNetwork,
		Staging: staging, Exe: opt.Exe}
	in.ResolvTarget, in.ResolvConf = resolvConf(opt.Root, dir)
	if _, err := os.Lstat(filepath.Join(dir, "usr/sbin/policy-rc.d")); err == nil {
		in.PolicyRC = true
	}
	spec := Plan(in)
	before := readPackages(dir)

	prev := rec.State
	rec.State = bootenv.Modifying
	if err := bootenv.WriteRecord(dir, rec); err != nil {
		return fmt.Errorf("marking %s modifying: %w", name, err)
	}
	cmdline := strings.Join(opt.Argv, " ")
	r.Step("Running %s in the runcmd environment of %s", cmdline, name)
	res, runErr := opt.Jailer.Run(ctx, spec, opt.Stdio, r)
	if res != nil {
		if err := RemovePlaceholders(dir, res.Placeholders); err != nil {
			r.Warn("%v", err)
		}
		reportProcs(res, r)
		r.Note("the command ran %s in the jail", res.Elapsed.Round(1e6))
	}
	reportVerdicts(filepath.Join(staging, verdictsFile), r)
	changes := DiffPackages(before, readPackages(dir))
	for _, c := range changes {
		r.Note("%s", ChangeText(c))
	}

	result, err := outcome(ctx, opt.Argv[0], res, runErr)
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
	if err != nil {
		return fmt.Errorf("running %s in %s: %w", cmdline, name, err)
	}
	return nil
}

// outcome turns the jail's result into the event's result and drd's error.
func outcome(ctx context.Context, prog string, res *Result, err error) (string, error) {
	switch {
	case ctx.Err() != nil:
		return "interrupted", fmt.Errorf("%w: the image is marked broken; run drd runcmd again (dpkg --configure -a, apt-get -f install) to finish the work", ErrInterrupted)
	case err != nil:
		return "failed", err
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

// reportVerdicts shows what the apt hook judged.
func reportVerdicts(path string, r report.Reporter) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var v safety.Verdict
		if json.Unmarshal(sc.Bytes(), &v) != nil {
			continue
		}
		reportVerdict(v, r)
	}
}

func reportVerdict(v safety.Verdict, r report.Reporter) {
	switch v.Level {
	case safety.Safe:
		r.Note("package %s %s is DRD-safe", v.Package, v.Version)
	case safety.Risky:
		r.Warn("package %s %s may not be DRD-safe; the runcmd environment contained it: %s", v.Package, v.Version, strings.Join(v.Reasons, "; "))
	case safety.Unsafe:
		r.Warn("package %s %s is not DRD-safe: %s", v.Package, v.Version, strings.Join(v.Reasons, "; "))
	}
}

// preInspect judges the .deb files given to dpkg on the command line
// (apt's own hook sees the ones apt installs), before anything runs.
func preInspect(ctx context.Context, opt Options, dir, unsafeList string, r report.Reporter) error {
	var debs []string
	for _, jp := range DebArgs(opt.Argv) {
		hp, err := hostPath(dir, opt.Binds, jp)
		if err != nil {
			return err
		}
		debs = append(debs, hp)
	}
	if len(debs) == 0 {
		return nil
	}
	vs, err := judgeDebs(ctx, opt.Runner, debs, unsafeList)
	if err != nil {
		return err
	}
	var refused []string
	for _, v := range vs {
		reportVerdict(v, r)
		if v.Level == safety.Unsafe {
			refused = append(refused, v.Package)
		}
	}
	if len(refused) > 0 && !opt.ForceUnsafe {
		return fmt.Errorf("refusing %s: not DRD-safe (see the warnings); nothing was run; -x force_unsafe=true installs anyway", strings.Join(refused, ", "))
	}
	return nil
}

// DebArgs lists the .deb files a dpkg command line installs or unpacks.
func DebArgs(argv []string) []string {
	if len(argv) == 0 || filepath.Base(argv[0]) != "dpkg" {
		return nil
	}
	installs := false
	var debs []string
	for _, a := range argv[1:] {
		switch {
		case a == "-i" || a == "--install" || a == "--unpack" || (strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.Contains(a, "i")):
			installs = true
		case installs && strings.HasSuffix(a, ".deb"):
			debs = append(debs, a)
		}
	}
	return debs
}

// hostPath is where a path of the jail is on the booted system: under a
// bound directory, or in the image.
func hostPath(dir string, binds []string, p string) (string, error) {
	p = filepath.Join("/", p)
	for _, b := range binds {
		b = filepath.Clean(b)
		if p == b || strings.HasPrefix(p, b+"/") {
			return p, nil
		}
	}
	return inRoot(dir, p)
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

// aptConf hooks drd's package judge before dpkg in every apt run.
const aptConf = `DPkg::Pre-Install-Pkgs:: "` + stagingDir + `/drd ` + InspectArg + `";
`

// writeStaging makes drd's directory for one run: policy-rc.d, apt.conf,
// the hook's configuration, and an empty file on which drd is bound.
func writeStaging(unsafeList string, force bool) (string, error) {
	dir, err := os.MkdirTemp("", "drd-runcmd-")
	if err != nil {
		return "", err
	}
	cfg, _ := json.Marshal(inspectConfig{UnsafeList: unsafeList, Force: force})
	for _, f := range []struct {
		name string
		data string
		mode fs.FileMode
	}{{"policy-rc.d", policyRC, 0o755}, {"apt.conf", aptConf, 0o644}, {"inspect.json", string(cfg), 0o644}, {"drd", "", 0o755}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.data), f.mode); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// resolvConf: when the image's /etc/resolv.conf is a link into /run
// (systemd-resolved, resolvconf), the jail's empty /run would leave it
// dangling: the booted system's resolver configuration is written there.
func resolvConf(root, dir string) (target, content string) {
	link, err := os.Readlink(filepath.Join(dir, "etc/resolv.conf"))
	if err != nil {
		return "", ""
	}
	if !filepath.IsAbs(link) {
		link = filepath.Join("/etc", link)
	}
	if !strings.HasPrefix(link, "/run/") {
		return "", ""
	}
	data, err := os.ReadFile(filepath.Join(root, "etc/resolv.conf"))
	if err != nil {
		return "", ""
	}
	return link, string(data)
}

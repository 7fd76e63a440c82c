package runcmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/pkgdb"
	"github.com/drd-linux/drd/safety"
)

// precheck finds the packages whose maintainer scripts the command will
// run and judges them into rep, before anything runs: .deb and .rpm files
// named on the command line and installed packages it removes or
// reconfigures are read on the booted system; for apt with
// -x precheck_only=true, apt's own solution is found in a dry run in the
// jail (the packages are downloaded into the image's cache, the hook
// judges them and stops apt before dpkg). A real apt run is judged by the
// same hook, before dpkg runs.
func precheck(ctx context.Context, opt Options, dir string, list safety.UnsafeList, rep *Report, r report.Reporter) error {
	ops := ParseOps(opt.Argv)
	switch filepath.Base(opt.Argv[0]) {
	case "dnf", "yum", "zypper":
		rep.Inspected = len(ops.RPMs) > 0
	default:
		rep.Inspected = rep.CommandSafe
	}
	add := func(v safety.Verdict, action string) {
		if v.Action == "" {
			v.Action = action
		}
		rep.Packages = append(rep.Packages, v)
	}
	for _, p := range ops.Debs {
		hp, err := hostPath(dir, opt.Depots, p)
		if err != nil {
			return err
		}
		v, err := judgeInstall(ctx, opt.Runner, dir, hp, list)
		if err != nil {
			return err
		}
		add(v, "install")
	}
	for _, n := range ops.Removes {
		v, err := judgeRemove(dir, n, list)
		if err != nil {
			r.Note("not judging the removal of %s: %v", n, err)
			continue
		}
		add(v, "remove")
	}
	for _, n := range ops.Reconfigure {
		p, err := safety.ReadInstalled(dir, n)
		if err != nil {
			return fmt.Errorf("dpkg-reconfigure %s: %w", n, err)
		}
		for _, s := range []string{"preinst", "prerm", "postrm"} {
			delete(p.Scripts, s)
		}
		add(safety.Judge(p, list), "reconfigure")
	}
	for _, f := range ops.RPMs {
		hp, err := hostPath(dir, opt.Depots, f)
		if err != nil {
			return err
		}
		p, err := safety.ReadRPM(ctx, opt.Runner, hp)
		if err != nil {
			return err
		}
		add(safety.Judge(p, list), "install")
	}
	for _, n := range ops.RPMRemoves {
		p, err := safety.ReadInstalledRPM(ctx, opt.Runner, dir, n)
		if err != nil {
			return err
		}
		for _, s := range []string{"pretrans", "preinstall", "postinstall", "posttrans"} {
			delete(p.Scripts, s)
		}
		add(safety.Judge(p, list), "remove")
	}
	if ops.Apt && opt.PrecheckOnly {
		vs, err := aptDryRun(ctx, opt, rep.Image, dir, r)
		if err != nil {
			return err
		}
		rep.Packages = append(rep.Packages, vs...)
	}
	return nil
}

// aptDryRun runs the apt command in the jail with the hook in dry mode:
// apt resolves, downloads into the image's cache and hands the hook its
// solution; the hook judges every package and stops apt before dpkg.
func aptDryRun(ctx context.Context, opt Options, name, dir string, r report.Reporter) ([]safety.Verdict, error) {
	unsafeList, err := readUnsafeList(opt.Root)
	if err != nil {
		return nil, err
	}
	staging, err := newStage(inspectConfig{UnsafeList: unsafeList, DryRun: true}, opt.Exe)
	if err != nil {
		return nil, err
	}
	defer staging.close()
	out, err := os.CreateTemp("", "drd-precheck-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	r.Note("finding apt's solution: %s, downloading into the image's cache, stopping before dpkg", strings.Join(opt.Argv, " "))
	spec := Plan(planInput(opt, name, dir))
	spec.Files = staging.files()
	stamp := pkgdb.Stamp(dir)
	res, runErr := runInJail(ctx, opt, dir, spec, Stdio{In: opt.Stdio.In, Out: out, Err: out}, r)
	printed, _ := os.ReadFile(out.Name())
	if pkgdb.Stamp(dir) != stamp {
		// Fail closed: the hook did not stop apt (an apt configuration
		// of the image turned it off?), and dpkg ran.
		return nil, fmt.Errorf("precheck only, yet dpkg changed %s: drd's apt hook did not stop apt before dpkg (does a file of the image's /etc/apt/apt.conf.d clear DPkg::Pre-Install-Pkgs?); check the image's packages (drd runcmd dpkg -l) and its apt configuration; apt printed:\n%s", name, strings.TrimSpace(string(printed)))
	}
	if failed, err := staging.read(failedFile); err == nil {
		return nil, fmt.Errorf("precheck of %s in %s: drd's apt hook could not judge apt's packages: %s; apt printed:\n%s", strings.Join(opt.Argv, " "), name, failed, strings.TrimSpace(string(printed)))
	}
	if _, err := staging.read(stoppedFile); err == nil {
		return readVerdicts(staging), nil
	}
	if _, err := outcome(ctx, opt.Argv[0], res, runErr); err != nil {
		return nil, fmt.Errorf("finding apt's solution for %s: %w; it printed:\n%s", strings.Join(opt.Argv, " "), err, strings.TrimSpace(string(printed)))
	}
	r.Note("apt has nothing to install or remove")
	return nil, nil
}

// hostPath is where a path of the jail is on the booted system: under a
// depot, or in the image.
func hostPath(dir string, depots []string, p string) (string, error) {
	p = filepath.Join("/", p)
	for _, d := range depots {
		d = filepath.Clean(d)
		if p == d || strings.HasPrefix(p, d+"/") {
			return p, nil
		}
	}
	return inRoot(dir, p)
}

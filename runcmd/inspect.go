package runcmd

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/safety"
)

// inspectConfig is what the apt hook in the jail gets from drd, in
// /run/drd/inspect.json.
type inspectConfig struct {
	UnsafeList  string `json:"unsafe_list"`  // the text of the booted system's /etc/drd/unsafe.list
	AllowUnsafe bool   `json:"allow_unsafe"` // install unsafe packages anyway
	// DryRun: judge, then stop apt before dpkg runs whatever the
	// verdicts (-x precheck_only=true).
	DryRun bool `json:"dry_run"`
}

// Files the hook writes into drd's staging directory.
const (
	verdictsFile = "verdicts.jsonl" // one safety.Verdict per line
	stoppedFile  = "stopped"        // the hook stopped apt (dry run or refusal)
	// failedFile: the hook stopped apt because it could not judge (its
	// input unreadable, a package that cannot be read): a precheck
	// that judged nothing must not pass.
	failedFile = "failed"
)

// HookInfoFD is the descriptor apt writes a Pre-Install-Pkgs hook's
// input to, as apt names it in the hook's environment (APT_HOOK_INFO_FD,
// from DPkg::Tools::Options::<hook>::InfoFD; 0, standard input, when
// unset). apt 2.6 and apt 3 both set it; an image's apt configuration
// may move it off standard input, which is then apt's own (the
// operator's terminal).
func HookInfoFD(env string) (int, error) {
	if env == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(env)
	if err != nil || n < 0 || n > 1<<20 || strconv.Itoa(n) != env {
		return 0, fmt.Errorf("APT_HOOK_INFO_FD=%q is not a file descriptor number (apt sets it to DPkg::Tools::Options::%s/drd::InfoFD)", env, stagingDir)
	}
	return n, nil
}

// hookInput is the hook's input: the descriptor APT_HOOK_INFO_FD names,
// or a reader that fails with the reason it cannot be read.
func hookInput(env string) io.Reader {
	fd, err := HookInfoFD(env)
	switch {
	case err != nil:
		return errReader{err}
	case fd == 0:
		return os.Stdin
	}
	return os.NewFile(uintptr(fd), "APT_HOOK_INFO_FD")
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// AptOp is one line of what apt hands its Pre-Install-Pkgs hook (protocol
// version 3): a package, its versions and what dpkg is about to do.
type AptOp struct {
	Package    string
	OldVersion string // "" when not installed
	NewVersion string // "" when removed
	Arch       string
	Action     string // "install" (File is the .deb), "configure", "remove"
	File       string
}

// ParseAptHook reads the hook's input: "VERSION 3", apt's configuration
// up to a blank line, then one line per operation:
//
//	name old-version old-arch old-multiarch op new-version new-arch new-multiarch action
//
// with "-" for a missing version or architecture, and action the .deb,
// **CONFIGURE** or **REMOVE**.
func ParseAptHook(r io.Reader) ([]AptOp, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() || strings.TrimSpace(sc.Text()) != "VERSION 3" {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("reading the apt hook's input: %w", err)
		}
		return nil, fmt.Errorf("the apt hook's input starts with %q, want VERSION 3 (DPkg::Tools::Options::...::Version)", sc.Text())
	}
	for sc.Scan() && sc.Text() != "" {
	}
	var ops []AptOp
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 9 {
			return nil, fmt.Errorf("the apt hook's input: %q: want 9 fields", sc.Text())
		}
		op := AptOp{Package: f[0], OldVersion: dash(f[1]), NewVersion: dash(f[5]), Arch: dash(f[6])}
		if op.Arch == "" {
			op.Arch = dash(f[2])
		}
		switch f[8] {
		case "**CONFIGURE**":
			op.Action = "configure"
		case "**REMOVE**":
			op.Action, op.NewVersion = "remove", ""
		default:
			op.Action, op.File = "install", f[8]
		}
		ops = append(ops, op)
	}
	return ops, sc.Err()
}

func dash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// inspectMain is apt's DPkg::Pre-Install-Pkgs hook inside the jail.
// Every package dpkg is about to install or remove is judged; an unsafe
// one stops apt before dpkg runs, unless unsafe packages are allowed.
// In a dry run it stops apt anyway, once everything is judged.
//
// fromConf: apt runs it from drd's apt.conf; when apt has the hook on its
// command line too (drd gave it), that one judges and this one only
// reads its input.
func inspectMain(stdin io.Reader, stderr io.Writer, staging string, fromConf bool) int {
	if fromConf {
		data, err := io.ReadAll(stdin)
		if err != nil {
			return 1
		}
		if hookedTwice(string(data)) {
			return 0
		}
		stdin = strings.NewReader(string(data))
	}
	var cfg inspectConfig
	if data, err := os.ReadFile(filepath.Join(staging, "inspect.json")); err == nil {
		json.Unmarshal(data, &cfg)
	}
	stop := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "drd: "+format+"\n", args...)
		os.WriteFile(filepath.Join(staging, "out", stoppedFile), []byte(fmt.Sprintf(format, args...)), 0o644)
		return code
	}
	// fail stops apt because nothing could be judged: a dry run must
	// not report that as a precheck that passed.
	fail := func(format string, args ...any) int {
		os.WriteFile(filepath.Join(staging, "out", failedFile), []byte(fmt.Sprintf(format, args...)), 0o644)
		return stop(1, format, args...)
	}
	ops, err := ParseAptHook(stdin)
	if err != nil {
		return fail("%v; nothing was installed", err)
	}
	list, err := safety.ParseUnsafeList(cfg.UnsafeList)
	if err != nil {
		return fail("%v; nothing was installed", err)
	}
	out, err := os.OpenFile(filepath.Join(staging, "out", verdictsFile), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fail("%v; nothing was installed", err)
	}
	defer out.Close()
	enc := json.NewEncoder(out)
	var refused []string
	for _, op := range ops {
		var v safety.Verdict
		switch op.Action {
		case "install":
			v, err = judgeInstall(context.Background(), execrun.Real{}, "/", op.File, list)
		case "remove":
			v, err = judgeRemove("/", op.Package+":"+op.Arch, list)
		default:
			continue
		}
		if err != nil {
			return fail("judging %s: %v; nothing was installed", op.Package, err)
		}
		enc.Encode(v)
		if v.Level == safety.Unsafe {
			fmt.Fprintf(stderr, "drd: %s %s is not DRD-safe: %s\n", v.Package, v.Version, strings.Join(v.Reasons(), "; "))
			refused = append(refused, v.Package)
		}
	}
	switch {
	case cfg.DryRun:
		return stop(1, "precheck only: every package is judged; apt stops here, nothing was installed")
	case len(refused) > 0 && !cfg.AllowUnsafe:
		return stop(1, "refusing the whole command: %s not DRD-safe; nothing was installed (-x allow_unsafe=true installs anyway)", strings.Join(refused, ", "))
	}
	return 0
}

// judgeInstall judges a .deb about to be installed into the image at
// root: its own preinst, postinst and config, and the prerm and postrm of
// the version it replaces, which dpkg runs too.
func judgeInstall(ctx context.Context, run execrun.Runner, root, deb string, list safety.UnsafeList) (safety.Verdict, error) {
	p, err := safety.ReadDeb(ctx, run, deb)
	if err != nil {
		return safety.Verdict{}, err
	}
	for _, s := range []string{"prerm", "postrm"} {
		delete(p.Scripts, s) // run when it is removed, not now
	}
	if arch := p.Fields["Architecture"]; arch != "" {
		if old, err := safety.ReadInstalled(root, p.Name+":"+arch); err == nil {
			for _, s := range []string{"prerm", "postrm"} {
				if body, ok := old.Scripts[s]; ok {
					p.Scripts["old "+s] = body
				}
			}
		}
	}
	v := safety.Judge(p, list)
	v.Action = "install"
	return v, nil
}

// judgeRemove judges the removal of an installed package: its prerm and
// postrm.
func judgeRemove(root, name string, list safety.UnsafeList) (safety.Verdict, error) {
	p, err := safety.ReadInstalled(root, name)
	if err != nil {
		return safety.Verdict{}, err
	}
	for _, s := range []string{"preinst", "postinst", "config"} {
		delete(p.Scripts, s)
	}
	v := safety.Judge(p, list)
	v.Action = "remove"
	return v, nil
}

// hookedTwice tells whether apt's configuration, as its hook gets it,
// lists drd's hook from the command line besides the one of apt.conf.
func hookedTwice(input string) bool {
	for _, l := range strings.Split(input, "\n") {
		if l == "" {
			break // the end of the configuration
		}
		if strings.Contains(strings.ToLower(l), "pre-install-pkgs") && strings.Contains(l, InspectArg) && !strings.Contains(l, confHookArg) {
			return true
		}
	}
	return false
}

package runcmd

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
)

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
func inspectMain(stdin io.Reader, stderr io.Writer, staging string) int {
	var cfg inspectConfig
	if data, err := os.ReadFile(filepath.Join(staging, "inspect.json")); err == nil {
		json.Unmarshal(data, &cfg)
	}
	stop := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "drd: "+format+"\n", args...)
		os.WriteFile(filepath.Join(staging, stoppedFile), []byte(fmt.Sprintf(format, args...)), 0o644)
		return code
	}
	ops, err := ParseAptHook(stdin)
	if err != nil {
		return stop(1, "%v", err)
	}
	list, err := safety.ParseUnsafeList(cfg.UnsafeList)
	if err != nil {
		return stop(1, "%v", err)
	}
	out, err := os.OpenFile(filepath.Join(staging, verdictsFile), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return stop(1, "%v", err)
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
			return stop(1, "judging %s: %v; nothing was installed", op.Package, err)
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

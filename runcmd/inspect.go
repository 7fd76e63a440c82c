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
	UnsafeList string `json:"unsafe_list"` // the text of the booted system's /etc/drd/unsafe.list
	Force      bool   `json:"force"`       // install unsafe packages anyway
}

// verdictsFile collects the hook's verdicts, one JSON object per line.
const verdictsFile = "verdicts.jsonl"

// inspectMain is apt's DPkg::Pre-Install-Pkgs hook inside the jail: apt
// writes the .deb files it is about to hand to dpkg on stdin, one per
// line. Each is judged; an unsafe one stops apt before dpkg runs.
func inspectMain(stdin io.Reader, stderr io.Writer, staging string) int {
	var cfg inspectConfig
	if data, err := os.ReadFile(filepath.Join(staging, "inspect.json")); err == nil {
		json.Unmarshal(data, &cfg)
	}
	var debs []string
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasSuffix(line, ".deb") {
			debs = append(debs, line)
		}
	}
	vs, err := judgeDebs(context.Background(), execrun.Real{}, debs, cfg.UnsafeList)
	if err != nil {
		fmt.Fprintf(stderr, "drd: %v\n", err)
		return 1
	}
	out, err := os.OpenFile(filepath.Join(staging, verdictsFile), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintf(stderr, "drd: %v\n", err)
		return 1
	}
	defer out.Close()
	enc := json.NewEncoder(out)
	refused := 0
	for _, v := range vs {
		enc.Encode(v)
		if v.Level == safety.Unsafe {
			fmt.Fprintf(stderr, "drd: %s is not DRD-safe: %s\n", v.Package, strings.Join(v.Reasons, "; "))
			refused++
		}
	}
	if refused > 0 && !cfg.Force {
		fmt.Fprintf(stderr, "drd: refusing to install %d package(s) that are not DRD-safe; nothing was installed (drd runcmd -x force_unsafe=true overrides)\n", refused)
		return 1
	}
	return 0
}

// judgeDebs reads and judges each .deb.
func judgeDebs(ctx context.Context, run execrun.Runner, debs []string, unsafeList string) ([]safety.Verdict, error) {
	list, err := safety.ParseUnsafeList(unsafeList)
	if err != nil {
		return nil, err
	}
	var vs []safety.Verdict
	for _, d := range debs {
		p, err := safety.ReadDeb(ctx, run, d)
		if err != nil {
			return vs, err
		}
		vs = append(vs, safety.Judge(p, list))
	}
	return vs, nil
}

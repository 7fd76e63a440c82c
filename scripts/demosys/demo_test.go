package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// scripts/demo checks for Go before it installs anything, and says which
// Go and how to get it: on a machine without Go it went as far as
// installing packages, then said "go: command not found". The script runs
// with a PATH of a few real tools and fakes: id says uid 1000, so nothing
// past the checks can run, and a go that prints a given version.
func TestDemoChecksGoFirst(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	need := string(m[1])
	for _, tt := range []struct {
		name string
		goV  string // "" for no go on PATH
		want string
	}{
		{"no go", "", "demo: needs Go " + need + " or newer (go.mod), and there is no go on PATH: get it from https://go.dev/dl/"},
		{"old go", "go1.19.8", "demo: needs Go " + need + " or newer (go.mod), and "},
		{"new enough", "go" + need, "demo: needs root"},
		{"newer", "go9.0.1", "demo: needs root"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bin := t.TempDir()
			for _, tool := range []string{"bash", "dirname", "sed", "head", "sort"} {
				p, err := exec.LookPath(tool)
				if err != nil {
					t.Skipf("no %s", tool)
				}
				if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
					t.Fatal(err)
				}
			}
			fake := map[string]string{"id": "#!/bin/sh\necho 1000\n"}
			if tt.goV != "" {
				fake["go"] = "#!/bin/sh\n[ \"$*\" = \"env GOVERSION\" ] && echo " + tt.goV + "\n"
			}
			for name, text := range fake {
				if err := os.WriteFile(filepath.Join(bin, name), []byte(text), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("../demo")
			cmd.Env = []string{"PATH=" + bin, "HOME=" + t.TempDir()}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			t.Logf("scripts/demo: %v\n%s", err, out.String())
			if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
				t.Errorf("exit: %v, want 1", err)
			}
			if !strings.HasPrefix(out.String(), tt.want) || strings.Count(out.String(), "\n") != 1 {
				t.Errorf("output %q, want one line starting %q", out.String(), tt.want)
			}
			if tt.goV == "go1.19.8" && !strings.Contains(out.String(), "is Go 1.19.8: get it from https://go.dev/dl/") {
				t.Errorf("output %q does not name the Go found and how to get another", out.String())
			}
		})
	}
}

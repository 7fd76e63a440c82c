package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v3"

	"github.com/drd-linux/drd/internal/manpage"
	"github.com/drd-linux/drd/internal/options"
)

// TestManPagesCoverTheCommands generates the man pages as make deb does
// and checks every command of drd's tree has its page, named in drd(8),
// and every flag and extended option of the command is on it.
func TestManPagesCoverTheCommands(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := drd(t, &fake{}, t.TempDir(), "generate", "--man", dir, "--date", "2026-12-04"); code != 0 {
		t.Fatalf("drd generate --man: exit %d: %s", code, stderr)
	}
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("the man page %s: %v", name, err)
		}
		return string(b)
	}
	top := read("drd.8")
	for _, f := range []string{"root", "version"} {
		if !strings.Contains(top, manpage.Escape("--"+f)) {
			t.Errorf("drd.8 lacks the global flag --%s", f)
		}
	}
	app := newApp(&env{})
	leaves := 0
	var walk func(cs []*cli.Command)
	walk = func(cs []*cli.Command) {
		for _, c := range cs {
			d := drdCommand(c)
			if d == nil {
				continue
			}
			if len(c.Commands) > 0 {
				walk(c.Commands)
				continue
			}
			leaves++
			name := "drd-" + strings.ReplaceAll(d.name, " ", "-")
			page := read(name + ".8")
			if !strings.Contains(top, `\fB`+manpage.Escape(name)+`\fR(8)`) {
				t.Errorf("drd.8 does not refer to %s(8)", name)
			}
			for _, f := range c.Flags {
				for _, n := range f.Names() {
					dash := "-"
					if len(n) > 1 {
						dash = "--"
					}
					if !regexp.MustCompile(`(?m)^\.B .*` + regexp.QuoteMeta(manpage.Escape(dash+n)) + `\b`).MatchString(page) {
						t.Errorf("%s.8 lacks the flag %s%s", name, dash, n)
					}
				}
			}
			for _, s := range d.options {
				if !strings.Contains(page, manpage.Escape("-x "+s.Name+"=")) {
					t.Errorf("%s.8 lacks the extended option %s", name, s.Name)
				}
			}
		}
	}
	walk(app.Commands)
	want := 0
	for _, c := range commands {
		if len(c.subcommands) == 0 {
			want++
		}
		want += len(c.subcommands)
	}
	if leaves != want || leaves == 0 {
		t.Errorf("pages for %d commands, %d registered", leaves, want)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != want+1 {
		t.Errorf("%d pages written, want %d (drd.8 and one per command)", len(entries), want+1)
	}
	if _, err := exec.LookPath("man"); err == nil {
		for _, e := range entries {
			cmd := exec.Command("man", "--warnings", "-l", "-Tutf8", filepath.Join(dir, e.Name()))
			var stderr bytes.Buffer
			cmd.Stderr, cmd.Stdout = &stderr, nil
			if err := cmd.Run(); err != nil || stderr.Len() > 0 {
				t.Errorf("man -l %s: %v\n%s", e.Name(), err, stderr.String())
			}
		}
	}
}

// TestConfListsEveryOption checks the commented drd.conf: every extended
// option of every command is there at its default, and the file with
// every line uncommented is a valid drd.conf.
func TestConfListsEveryOption(t *testing.T) {
	text := confText()
	var uncommented []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "#") && strings.Contains(l, "=") && !strings.HasPrefix(l, "# ") {
			uncommented = append(uncommented, l[1:])
		}
	}
	n := 0
	for cmd, specs := range confSpecs() {
		for _, s := range specs {
			n++
			if line := "#" + cmd + "." + s.Name + "=" + s.Default + "\n"; !strings.Contains(text, line) {
				t.Errorf("drd.conf lacks %q", line)
			}
		}
	}
	if len(uncommented) != n {
		t.Errorf("%d option lines, want %d", len(uncommented), n)
	}
	if _, err := options.ParseConf([]byte(strings.Join(uncommented, "\n")), confSpecs()); err != nil {
		t.Errorf("drd.conf with its defaults uncommented: %v", err)
	}
}

// TestCompletion checks drd completion prints each shell's script and
// the script's question (--generate-shell-completion) gets the commands.
func TestCompletion(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		code, out, _ := drd(t, &fake{}, t.TempDir(), "completion", sh)
		if code != 0 || !strings.Contains(out, "--generate-shell-completion") {
			t.Errorf("drd completion %s: exit %d, no script", sh, code)
		}
	}
	// At the top, urfave/cli reads the request from os.Args (the test
	// binary's own flags otherwise).
	args := os.Args
	os.Args = []string{"drd", "--generate-shell-completion"}
	t.Cleanup(func() { os.Args = args })
	var stdout strings.Builder
	code := run(context.Background(), []string{"drd", "--generate-shell-completion"}, &stdout, io.Discard, (&fake{}).system())
	out := stdout.String()
	if code != 0 {
		t.Fatalf("completing commands: exit %d", code)
	}
	for name, c := range commands {
		if !c.hidden && !strings.Contains(out, name+":") {
			t.Errorf("completion lacks the command %s:\n%s", name, out)
		}
	}
	if strings.Contains(out, "generate") || strings.Contains(out, "boot-check") {
		t.Errorf("completion offers a hidden command:\n%s", out)
	}
	code, out, _ = drd(t, &fake{}, t.TempDir(), "clone", "-", "--generate-shell-completion")
	if code != 0 || !strings.Contains(out, "-t:") || !strings.Contains(out, "-x:") {
		t.Errorf("completing drd clone's flags: exit %d:\n%s", code, out)
	}
}

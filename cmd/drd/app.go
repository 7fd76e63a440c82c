package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/urfave/cli/v3"
)

// version is set at build time (make drd, make deb) with
// -ldflags "-X main.version=$(git describe --tags --always --dirty)";
// otherwise it comes from the module's build information, and a plain
// go build in the work tree says "(devel)": a build nobody stamped.
var version string

// run runs one drd command line (args[0] is the program) and returns the
// exit code. Tests call it in-process with a fake system.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, sys system) int {
	env := &env{sys: sys, stdout: stdout, stderr: stderr, argv: args}
	err := newApp(env).Run(ctx, args)
	return exitCode(err, env.warnings, stderr)
}

// env is what every command of one run shares.
type env struct {
	sys            system
	stdout, stderr io.Writer
	argv           []string // the command line, for the lock's holder
	warnings       int      // set by the command that ran
}

func newApp(env *env) *cli.Command {
	app := &cli.Command{
		Name:      "drd",
		Usage:     "Dynamic Root Disk: clone the running system, patch the copy, boot it",
		UsageText: "drd [--root DIR] COMMAND [-p] [-q...] [-v...] [-x name=value...] [-X FILE] [ARGS]",
		Writer:    env.stdout,
		ErrWriter: env.stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Value: "/", Usage: "act on the system image whose root is mounted at `DIR`; drd's own files are under DIR/var/opt/drd"},
			&cli.BoolFlag{Name: "version", Usage: "print the version", Local: true},
		},
		HideVersion:     true,
		HideHelpCommand: true,
		// drd completion bash|zsh|fish prints a script that asks drd
		// itself (--generate-shell-completion) for commands and flags.
		EnableShellCompletion: true,
		OnUsageError:          onUsageError,
		ExitErrHandler:        func(context.Context, *cli.Command, error) {}, // exitCode decides
		Action: func(ctx context.Context, cmd *cli.Command) error {
			switch {
			case cmd.Bool("version"):
				fmt.Fprintln(env.stdout, "drd", versionString())
				return nil
			case cmd.NArg() == 0:
				return usagef("drd", "no command given")
			}
			return usagef("drd", "unknown command %q", cmd.Args().First())
		},
	}
	for _, c := range sortedCommands() {
		app.Commands = append(app.Commands, c.cli(env))
	}
	app.Commands = append(app.Commands, generateCLI())
	return app
}

// onUsageError turns urfave/cli's parse errors into usage errors.
func onUsageError(_ context.Context, cmd *cli.Command, err error, _ bool) error {
	return &usageError{cmd: cmd.FullName(), err: err}
}

// rootDir is --root, made absolute and checked.
func rootDir(cmd *cli.Command) (string, error) {
	root, err := filepath.Abs(cmd.String("root"))
	if err != nil {
		return "", usagef("drd", "--root %s: %v", cmd.String("root"), err)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return "", usagef("drd", "--root %s: not a directory", root)
	}
	return root, nil
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "(devel)"
}

// commandLine quotes argv for a shell, program named drd: it names the
// holder of the lock.
func commandLine(argv []string) string {
	words := slices.Clone(argv)
	if len(words) > 0 {
		words[0] = "drd"
	}
	for i, w := range words {
		if w == "" || strings.ContainsAny(w, " \t\n\"'\\$`*?[]{}()<>|&;#~") {
			words[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
	}
	return strings.Join(words, " ")
}

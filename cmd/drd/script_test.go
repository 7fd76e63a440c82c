package main

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/drd-linux/drd/internal/lock"
)

// TestMain lets the test binary run as drd in the scripts.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		// The scripts act on a scratch --root as root would, whoever
		// runs the tests.
		"drd": func() { os.Exit(runMainAs(0)) },
	})
}

// TestScript runs the transcripts in testdata/script against the real
// drd. They never reach a disk: they use --root $WORK/root, and only
// commands that stop before the engines or preview a clone.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": cmdExitcode,
			"holdlock": cmdHoldlock,
		},
	})
}

// exitcode N PROGRAM [ARGS...] runs a program and checks its exit code;
// its stdout and stderr can be checked afterwards.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	got := 0
	var exit *exec.ExitError
	if err := ts.Exec(args[1], args[2:]...); errors.As(err, &exit) {
		got = exit.ExitCode()
	} else if err != nil {
		ts.Fatalf("%s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// holdlock ROOT takes drd's lock of ROOT as "drd clone -t /dev/vdb" would,
// until the end of the script.
func cmdHoldlock(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: holdlock root")
	}
	l, err := lock.Acquire(ts.MkAbs(args[0]), lock.Holder{
		PID: os.Getpid(), User: "root", Command: "drd clone -t /dev/vdb", Since: time.Now(),
	})
	ts.Check(err)
	ts.Defer(func() { l.Release() })
}

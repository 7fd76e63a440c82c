package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drd-linux/drd/internal/console"
	"github.com/drd-linux/drd/internal/lock"
)

// Every command that changes the system, run by someone who is not root,
// says it needs root (exit 1) and does nothing: no engine, no log, no
// lock file. Before, it failed on "mkdir /var/opt/drd: permission denied"
// after its BEGIN banner.
func TestNonRootIsRefused(t *testing.T) {
	var all []*command
	for _, c := range sortedCommands() {
		all = append(append(all, c), c.subcommands...)
	}
	refused := 0
	for _, c := range all {
		if !c.locks {
			continue
		}
		refused++
		args := append(strings.Fields(c.name), "-x", "bogus_is_not_read_yet=1")
		if c.name == "clone" {
			args = append(args, "-t", "/dev/vdb")
		}
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			f := &fake{uid: 1000}
			sys := f.system()
			sys.user = "alice"
			var out, errb strings.Builder
			argv := append([]string{"drd", "--root", root}, args...)
			code := run(t.Context(), argv, &out, &errb, sys)
			want := fmt.Sprintf("drd %s: needs root: it changes the system, and alice (uid 1000) is not root\nRun it as root: sudo drd --root %s %s", c.name, root, strings.Join(args, " "))
			if code != 1 || !strings.Contains(errb.String(), want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and %q", code, errb.String(), want)
			}
			if strings.Contains(errb.String(), "BEGIN") {
				t.Errorf("a refused command printed its banner:\n%s", errb.String())
			}
			if len(f.roots)+len(f.cloned)+len(f.mounted)+len(f.isl) > 0 {
				t.Errorf("an engine ran: %v", f.roots)
			}
			for _, p := range []string{console.LogPath(root), lock.Path(root)} {
				if _, err := os.Stat(p); err == nil {
					t.Errorf("%s was written", p)
				}
			}
		})
	}
	if refused < 3 {
		t.Errorf("only %d commands take the lock: is the registry empty?", refused)
	}
	// -x -? is help: it needs no root.
	if code, _, _ := drd(t, &fake{uid: 1000}, t.TempDir(), "clone", "-x", "-?"); code != 0 {
		t.Errorf("drd clone -x -? without root: exit %d, want 0", code)
	}
}

// drd status runs without root, read-only: exit 0 (no warning about a
// log it may not write), and drd.log is left alone.
func TestNonRootStatusReadsOnly(t *testing.T) {
	root := t.TempDir()
	f := &fake{uid: 1000, status: statusOneClone()}
	code, stdout, stderr := drd(t, f, root, "status", "-v")
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	if !strings.Contains(stdout, "sysimage_001") {
		t.Errorf("stdout lacks the clone:\n%s", stdout)
	}
	if !strings.Contains(stderr, "not root: not writing "+console.LogPath(root)) {
		t.Errorf("stderr does not say the log is not written:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Dir(console.LogPath(root))); err == nil {
		t.Errorf("drd status without root made %s", filepath.Dir(console.LogPath(root)))
	}
	// A scan that may not read something says to run it as root.
	f = &fake{uid: 1000, fail: fmt.Errorf("reading /dev/vdb: %w", fs.ErrPermission)}
	code, _, stderr = drd(t, f, root, "status")
	if want := "permission denied: drd status sees only what root (uid 1000) may read; run it as root"; code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and %q", code, stderr, want)
	}
}

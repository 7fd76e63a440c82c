package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/internal/console"
	"github.com/drd-linux/drd/internal/lock"
	"github.com/drd-linux/drd/internal/options"
	"github.com/drd-linux/drd/internal/report"
)

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name   string
		fake   fake
		args   []string
		code   int
		stderr string // substring
	}{
		{"success", fake{}, []string{"umount"}, 0, "END Unmount Inactive System Image succeeded\n"},
		{"warning", fake{warn: "slow disk"}, []string{"umount"}, 2, "END Unmount Inactive System Image succeeded with warnings"},
		{"error", fake{fail: errEngine}, []string{"umount"}, 1, "  ERROR: unmounting the inactive system image: disk on fire\n"},
		{"warning and error", fake{warn: "slow disk", fail: errEngine}, []string{"mount", "sysimage_001"}, 1, "  ERROR: mounting sysimage_001: disk on fire\n"},
		{"usage error", fake{}, []string{"clone"}, 1, "drd clone: no target: give -t DISK or -t IMAGE_FILE\nRun 'drd clone -h' for help.\n"},
		{"unknown command", fake{}, []string{"bogus"}, 1, "drd: unknown command \"bogus\"\nRun 'drd -h' for help.\n"},
		{"no command", fake{}, nil, 1, "drd: no command given\n"},
		{"unknown flag", fake{}, []string{"status", "-z"}, 1, "drd status: flag provided but not defined: -z\nRun 'drd status -h' for help.\n"},
		{"preview not offered", fake{}, []string{"mount", "-p"}, 1, "drd mount: flag provided but not defined: -p"},
		{"too many arguments", fake{}, []string{"umount", "a", "b"}, 1, "drd umount: too many arguments: [\"b\"]"},
		{"unknown -x", fake{}, []string{"clone", "-t", "/dev/vdb", "-x", "bogus=1"}, 1, "drd clone: unknown option \"bogus\" (in \"bogus=1\")\nRun 'drd clone -x -?' for the extended options.\n"},
		{"bad -x value", fake{}, []string{"clone", "-t", "/dev/vdb", "-x", "overwrite=maybe"}, 1, `option overwrite: invalid bool "maybe"`},
		{"-x -?", fake{}, []string{"clone", "-x", "-?"}, 0, ""},
		{"-x ? without target", fake{}, []string{"clone", "-x", "?"}, 0, ""},
		{"version", fake{}, []string{"--version"}, 0, ""},
		{"missing option file", fake{}, []string{"status", "-X", "/nonexistent/opts"}, 1, "drd status: reading option file: open /nonexistent/opts: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := drd(t, &tt.fake, t.TempDir(), tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if !strings.Contains(stderr, tt.stderr) || tt.stderr == "" && stderr != "" {
				t.Errorf("stderr %q lacks %q", stderr, tt.stderr)
			}
		})
	}
}

func TestUsageErrorsDoNothing(t *testing.T) {
	for _, args := range [][]string{
		{"clone"},
		{"clone", "-t", "/dev/vdb", "-x", "image_size=8Q"},
		{"clone", "-t", "/dev/vdb", "-x", "-?"},
		{"clone", "-t", "/dev/vdb", "-x", "snapshot=sometimes"},
		{"mount", "a", "b"},
	} {
		f := &fake{}
		root := t.TempDir()
		drd(t, f, root, args...)
		if len(f.cloned)+len(f.mounted) > 0 {
			t.Errorf("drd %q called an engine: %v %v", args, f.cloned, f.mounted)
		}
		if _, err := os.Stat(filepath.Join(root, "var")); !os.IsNotExist(err) {
			t.Errorf("drd %q wrote under --root: %v", args, err)
		}
	}
}

func TestCloneOptions(t *testing.T) {
	dir := t.TempDir()
	optfile := filepath.Join(dir, "clone.opts")
	if err := os.WriteFile(optfile, []byte("# from a runbook\noverwrite=true\nexclude=/var/tmp\nexclude=/srv/cache\nimage_size=4G\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const siteConf = "clone.snapshot=never\nclone.image_size=40G\nclone.exclude=/var/cache\nclone.esp=true\nactivate.tries=3\n"
	tests := []struct {
		name string
		conf string // the root's etc/drd/drd.conf, if any
		args []string
		want clone.Options
	}{
		{"defaults", "", []string{"clone", "-t", "/dev/vdb"},
			clone.Options{Target: "/dev/vdb", Snapshot: "auto"}},
		{"drd.conf over built-in defaults", siteConf, []string{"clone", "-t", "/dev/vdb"},
			clone.Options{Target: "/dev/vdb", ESP: true, ImageSize: 40 << 30, Exclude: []string{"/var/cache"}, Snapshot: "never"}},
		{"option file and command line over drd.conf", siteConf, []string{"clone", "-t", "/dev/vdb", "-X", optfile, "-x", "esp=false"},
			clone.Options{Target: "/dev/vdb", Overwrite: true, ImageSize: 4 << 30, Exclude: []string{"/var/tmp", "/srv/cache"}, Snapshot: "never"}},
		{"preview", "", []string{"clone", "-p", "-t", "/dev/vdb"},
			clone.Options{Target: "/dev/vdb", Preview: true, Snapshot: "auto"}},
		{"long target, options", "", []string{"clone", "--target", "/srv/c.img", "-x", "image_size=8G", "-x", "esp=true", "-x", "exclude=/home/a,b", "-x", "exclude=/tmp", "-x", "snapshot=never"},
			clone.Options{Target: "/srv/c.img", ImageSize: 8 << 30, ESP: true, Exclude: []string{"/home/a,b", "/tmp"}, Snapshot: "never"}},
		{"option file, command line wins", "", []string{"clone", "-t", "/dev/vdb", "-X", optfile, "-x", "image_size=1G", "-x", "exclude=/x"},
			clone.Options{Target: "/dev/vdb", Overwrite: true, ImageSize: 1 << 30, Exclude: []string{"/x"}, Snapshot: "auto"}},
		{"flags after the target and -pvq", "", []string{"clone", "-t", "/dev/vdb", "-pvq"},
			clone.Options{Target: "/dev/vdb", Preview: true, Snapshot: "auto"}},
		{"no baseline", "", []string{"clone", "-t", "/dev/vdb", "-x", "baseline=false"},
			clone.Options{Target: "/dev/vdb", Snapshot: "auto", NoBaseline: true}},
		{"no baseline from drd.conf", "clone.baseline=false\n", []string{"clone", "-t", "/dev/vdb"},
			clone.Options{Target: "/dev/vdb", Snapshot: "auto", NoBaseline: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{}
			root := t.TempDir()
			if tt.conf != "" {
				if err := os.MkdirAll(filepath.Join(root, "etc/drd"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, confFile), []byte(tt.conf), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if code, _, _ := drd(t, f, root, tt.args...); code != 0 {
				t.Fatalf("exit code %d", code)
			}
			tt.want.Root = root
			if len(f.cloned) != 1 || !reflect.DeepEqual(f.cloned[0], tt.want) {
				t.Errorf("clone.Run got %+v, want %+v", f.cloned, tt.want)
			}
		})
	}
}

func TestRootIsAbsolute(t *testing.T) {
	root := t.TempDir()
	t.Chdir(filepath.Dir(root))
	f := &fake{}
	drd(t, f, filepath.Base(root), "umount", "sysimage_001")
	if !reflect.DeepEqual(f.roots, []string{root}) || !reflect.DeepEqual(f.mounted, []string{"umount sysimage_001"}) {
		t.Errorf("umount got roots %q calls %q, want %q", f.roots, f.mounted, root)
	}
	if _, err := os.Stat(console.LogPath(root)); err != nil {
		t.Errorf("no log under --root: %v", err)
	}
}

func TestMountPrintsDirectory(t *testing.T) {
	f := &fake{dir: "/r/var/opt/drd/mnts/sysimage_001"}
	code, stdout, _ := drd(t, f, t.TempDir(), "mount")
	if code != 0 || stdout != "/r/var/opt/drd/mnts/sysimage_001\n" || !reflect.DeepEqual(f.mounted, []string{"mount "}) {
		t.Errorf("mount: exit %d, stdout %q, calls %q", code, stdout, f.mounted)
	}
}

func TestVerbosity(t *testing.T) {
	tests := []struct {
		flags    []string
		has, not []string
	}{
		{nil, []string{"BEGIN", "* working", "WARNING: w", "END"}, []string{"a detail"}},
		{[]string{"-v"}, []string{"BEGIN", "* working", "  a detail", "WARNING: w", "END"}, nil},
		{[]string{"-q"}, []string{"WARNING: w", "END"}, []string{"BEGIN", "* working", "a detail"}},
		{[]string{"-q", "-q"}, []string{"WARNING: w"}, []string{"BEGIN", "* working", "END"}},
		{[]string{"-qq"}, []string{"WARNING: w"}, []string{"BEGIN", "END"}},
	}
	for _, tt := range tests {
		root := t.TempDir()
		_, _, stderr := drd(t, &fake{warn: "w"}, root, append([]string{"umount"}, tt.flags...)...)
		for _, s := range tt.has {
			if !strings.Contains(stderr, s) {
				t.Errorf("%q: stderr lacks %q", tt.flags, s)
			}
		}
		for _, s := range tt.not {
			if strings.Contains(stderr, s) {
				t.Errorf("%q: stderr has %q", tt.flags, s)
			}
		}
		// The log has everything whatever the flags.
		log, _ := os.ReadFile(console.LogPath(root))
		for _, s := range []string{"BEGIN", "* working", "  a detail", "WARNING: w", "END"} {
			if !strings.Contains(string(log), s) {
				t.Errorf("%q: log lacks %q", tt.flags, s)
			}
		}
	}
}

func TestLockRefusesSecondCommand(t *testing.T) {
	root := t.TempDir()
	held, err := lock.Acquire(root, lock.Holder{PID: 1234, User: "root", Command: "drd clone -t /dev/vdb", Since: testNow})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	for _, cmd := range [][]string{{"clone", "-t", "/dev/vdc"}, {"mount"}, {"umount"}} {
		f := &fake{}
		code, _, stderr := drd(t, f, root, cmd...)
		if code != 1 || !strings.Contains(stderr, `ERROR: another drd command is running: pid 1234 (user root) "drd clone -t /dev/vdb" since 16:45:03`) {
			t.Errorf("%q while locked: exit %d", cmd, code)
		}
		if len(f.cloned)+len(f.mounted) > 0 {
			t.Errorf("%q ran while locked", cmd)
		}
	}
	// status does not lock.
	f := &fake{status: statusOneClone()}
	if code, _, _ := drd(t, f, root, "status"); code != 0 {
		t.Errorf("status while locked: exit %d", code)
	}
}

// TestCommandWaitsForBootCheck: right after a boot the boot check holds
// drd's lock; a command started then waits for it, says so, and runs.
func TestCommandWaitsForBootCheck(t *testing.T) {
	root := t.TempDir()
	held, err := lock.Acquire(root, lock.Holder{PID: 4321, User: "root", Command: "/usr/lib/drd/drd boot-check", Since: testNow})
	if err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(1500 * time.Millisecond); held.Release() }()
	f := &fake{}
	code, _, stderr := drd(t, f, root, "mount")
	if code != 0 || len(f.mounted) != 1 {
		t.Fatalf("drd mount while the boot check held the lock: exit %d, mounted %v\n%s", code, f.mounted, stderr)
	}
	if !strings.Contains(stderr, "Waiting for the boot check (pid 4321, since 16:45:03) to finish") {
		t.Errorf("drd mount did not say it waited for the boot check:\n%s", stderr)
	}
}

func TestLockHeldDuringCommand(t *testing.T) {
	root := t.TempDir()
	f := &fake{}
	sys := f.system()
	var during []byte
	sys.umount = func(ctx context.Context, r string, name string, rep report.Reporter) error {
		during, _ = os.ReadFile(lock.Path(r))
		_, err := lock.Acquire(r, lock.Holder{PID: 1})
		if err == nil {
			t.Error("the lock was free while umount ran")
		}
		return nil
	}
	var out, errb strings.Builder
	if code := run(t.Context(), []string{"/usr/sbin/drd", "--root", root, "umount", "my image"}, &out, &errb, sys); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(string(during), `"command": "drd --root `+root+` umount 'my image'"`) || !strings.Contains(string(during), `"pid": 4242`) {
		t.Errorf("lock file during the command:\n%s", during)
	}
	if after, _ := os.ReadFile(lock.Path(root)); len(after) != 0 {
		t.Errorf("lock file after the command: %q", after)
	}
}

func TestLogUnwritableWarns(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(console.LogPath(root), 0o755); err != nil { // a directory where the log should be
		t.Fatal(err)
	}
	code, _, stderr := drd(t, &fake{status: statusOneClone()}, root, "status")
	if code != 2 || !strings.Contains(stderr, "WARNING: not writing the log: opening log:") {
		t.Errorf("exit %d, want 2 and a warning", code)
	}
}

func TestExtendedOptionSpecsAreValid(t *testing.T) {
	var all []*command
	for _, c := range sortedCommands() {
		if len(c.subcommands) > 0 { // a group (drd isl): its subcommands run
			if c.usage == "" || c.run != nil || c.options != nil {
				t.Errorf("%s: a group has a usage line and no run or options of its own", c.name)
			}
			all = append(all, c.subcommands...)
			continue
		}
		all = append(all, c)
	}
	for _, c := range all {
		if _, err := options.Parse(c.options, options.Defaults{}, nil, nil); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if c.what == "" || c.usage == "" || c.run == nil {
			t.Errorf("%s: incomplete declaration", c.name)
		}
	}
	for _, name := range []string{"clone", "status", "mount", "umount"} {
		if commands[name] == nil {
			t.Errorf("command %s not registered", name)
		}
	}
}

func TestCommandLine(t *testing.T) {
	got := commandLine([]string{"/usr/sbin/drd", "clone", "-t", "/dev/vdb", "-x", "exclude=/a b", "-x", "it's", ""})
	want := `drd clone -t /dev/vdb -x 'exclude=/a b' -x 'it'\''s' ''`
	if got != want {
		t.Errorf("commandLine = %s, want %s", got, want)
	}
}

func TestStatusWithNothingFound(t *testing.T) {
	code, stdout, _ := drd(t, &fake{}, t.TempDir(), "status")
	if code != 0 || !strings.HasPrefix(stdout, "Original Disk:            None\n") {
		t.Errorf("status of a nil Status: exit %d\n%s", code, stdout)
	}
}

// TestImportTargetOptions: drd import takes clone's target options
// (overwrite, esp, image_size), from drd.conf's import. section and the
// command line, and none of clone's copy options.
func TestImportTargetOptions(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc/drd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, confFile), []byte("import.image_size=40G\nclone.esp=true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	art := filepath.Join(t.TempDir(), "a.drd")
	if err := os.WriteFile(art, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f := &fake{}
	// Exit 2: no trusted key is a warning.
	if code, _, stderr := drd(t, f, root, "import", "-x", "overwrite=true", art, "-t", "/srv/new.img"); code != 2 {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	want := clone.Options{Root: root, Target: "/srv/new.img", Overwrite: true, ImageSize: 40 << 30}
	if len(f.imported) != 1 || !reflect.DeepEqual(f.imported[0], want) {
		t.Errorf("clone.Import got %+v, want %+v", f.imported, want)
	}
	for _, opt := range []string{"baseline=false", "exclude=/tmp", "snapshot=never"} {
		if code, _, stderr := drd(t, &fake{}, root, "import", "-x", opt, art, "-t", "/srv/new.img"); code != 1 || !strings.Contains(stderr, strings.Split(opt, "=")[0]) {
			t.Errorf("drd import -x %s: exit %d, %s; want it refused as clone's alone", opt, code, stderr)
		}
	}
}

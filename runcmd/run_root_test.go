package runcmd

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/eventlog"
	mb "github.com/drd-linux/drd/internal/minbase"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/internal/testsys"
	"github.com/drd-linux/drd/pkgdb"
)

// recorder is a Reporter that keeps the warnings.
type recorder struct {
	t     *testing.T
	mu    sync.Mutex
	warns []string
}

func (r *recorder) Step(f string, a ...any) { r.t.Logf("* "+f, a...) }
func (r *recorder) Note(f string, a ...any) { r.t.Logf("  "+f, a...) }
func (r *recorder) Warn(f string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.warns = append(r.warns, fmt.Sprintf(f, a...))
	r.t.Logf("  WARNING: "+f, a...)
}
func (r *recorder) Progress(report.Progress) {}

// clonedMinbase builds a test system holding the Debian 12 minbase (with
// dpkg and apt), clones it to an image file, and returns the system.
func clonedMinbase(t testing.TB, ctx context.Context) *testsys.System {
	t.Helper()
	return clonedMinbaseOf(t, ctx, mb.Default)
}

// clonedMinbaseOf is clonedMinbase of the release sys.
func clonedMinbaseOf(t testing.TB, ctx context.Context, sys mb.System) *testsys.System {
	t.Helper()
	requireRoot(t)
	s := testsys.ForTest(t, testsys.Options{})
	fstab, err := os.ReadFile(filepath.Join(s.Root, "etc/fstab"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.Unpack(ctx, s.Root); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Root, "etc/fstab"), fstab, 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "clone.img")
	cleanupImage(t, s.Root, target)
	if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: target}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	return s
}

// cloneName is the name of the one clone of the system at root, read
// back (testsys.CloneName).
func cloneName(t testing.TB, _ context.Context, root string) string {
	t.Helper()
	return testsys.CloneName(t, root)
}

// cleanupImage unmounts, at the end of the test, the image mounted under
// root and detaches every loop device attached to file, an image file the
// test makes: registered before the clone, it leaves nothing attached
// also when a clone, mount or run fails half-way (the test's file, so
// every loop of it is the test's).
func cleanupImage(t testing.TB, root, file string) {
	t.Cleanup(func() {
		bootenv.Umount(context.Background(), root, "", report.Discard)
		loops, _ := images.LoopsOf("/sys", file)
		for _, l := range loops {
			if err := images.DetachLoop(l); err != nil {
				t.Logf("cleanup: %v", err)
			}
		}
	})
}

// makeDeb builds a package with dpkg-deb into dir.
func makeDeb(t *testing.T, dir, name, extraControl string, scripts, files map[string]string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), name)
	os.MkdirAll(filepath.Join(src, "DEBIAN"), 0o755)
	control := fmt.Sprintf("Package: %s\nVersion: 1.0-1\nArchitecture: all\nMaintainer: drd tests <drd@example.org>\nDescription: drd test package\n%s", name, extraControl)
	os.WriteFile(filepath.Join(src, "DEBIAN/control"), []byte(control), 0o644)
	for n, body := range scripts {
		os.WriteFile(filepath.Join(src, "DEBIAN", n), []byte(body), 0o755)
	}
	for p, body := range files {
		os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(src, p), []byte(body), 0o755)
	}
	deb := filepath.Join(dir, name+".deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-b", src, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, out)
	}
	return deb
}

// inImage mounts the clone, calls f with its root, and unmounts it.
func inImage(t *testing.T, root string, f func(dir string)) {
	t.Helper()
	dir, err := bootenv.Mount(context.Background(), root, cloneName(t, context.Background(), root), report.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := bootenv.Umount(context.Background(), root, "", report.Discard); err != nil {
			t.Error(err)
		}
	}()
	f(dir)
}

func lastEvent(t *testing.T, root string) (bootenv.State, bootenv.Event) {
	var rec *bootenv.Record
	inImage(t, root, func(dir string) {
		var err error
		if rec, err = bootenv.ReadRecord(dir); err != nil {
			t.Fatal(err)
		}
	})
	return rec.State, rec.History[len(rec.History)-1]
}

// installed tells the version of a package dpkg has installed in the
// image at dir ("" if none).
func installed(dir, pkg string) string {
	return pkgdb.Read(dir)[pkg+":all"]
}

// hashTree hashes every file, link and directory below the paths of root.
func hashTree(t *testing.T, root string, paths ...string) string {
	t.Helper()
	h := sha256.New()
	for _, p := range paths {
		filepath.WalkDir(filepath.Join(root, p), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return nil
			}
			fmt.Fprintf(h, "%s %v %d\n", path, fi.Mode(), fi.Size())
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				l, _ := os.Readlink(path)
				io.WriteString(h, l)
			case fi.Mode().IsRegular():
				if f, err := os.Open(path); err == nil {
					io.Copy(h, f)
					f.Close()
				}
			}
			return nil
		})
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// hashHead hashes the first MiB of a disk: its boot record and partition table.
func hashHead(t *testing.T, dev string) string {
	t.Helper()
	f, err := os.Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(h, f, 1<<20); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// attack is one thing a package script tries against the booted system.
// Its postinst writes what each try got into /var/log/drd-attack.log of
// the image ("name: rc=N output"); want are substrings that log must
// hold. A try must fail (rc other than 0) unless named in mayPass.
type attack struct {
	name    string
	script  string            // the postinst's body; $HOSTPID, $HOSTDIR, $HOSTSOCK, $DISKMAJ, $DISKMIN, $HOSTPORT, $HOSTABSTRACT, $LONGSLEEP set
	files   map[string]string // files the package ships
	want    []string          // in the attack's log
	mayPass []string          // tries that may succeed: they do nothing in the runcmd environment
	warns   []string          // in drd's warnings
	unsafe  bool              // refused unless allow_unsafe
}

// sysProbe calls a system call with perl (in the minbase: perl-base).
const sysProbe = `sys() { perl -e '@a = map { /^-?\d+$/ ? $_ + 0 : $_ } @ARGV; $n = shift @a; if (syscall($n, @a) < 0) { print STDERR "$!\n"; exit 1 }' "$@"; }
try() { name=$1; shift; "$@" >/tmp/err 2>&1; rc=$?; echo "$name: rc=$rc $(tr '\n' ' ' </tmp/err)"; }
`

var attacks = []attack{
	{name: "kill", script: `try kill-booted kill -9 "$HOSTPID"`,
		want: []string{"kill-booted: rc=", "No such process"}},
	{name: "socket", script: `try booted-socket perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "$!\n"' "$HOSTSOCK"`,
		want: []string{"booted-socket: rc=2 No such file or directory"}},
	{name: "restart", files: map[string]string{"/etc/init.d/drd-svc": "#!/bin/sh\ncase $1 in start|restart) sleep " + longSleep + " & ;; esac\nexit 0\n"},
		script: `try invoke-rc.d invoke-rc.d drd-svc restart
try systemctl systemctl restart drd-svc.service
try service service drd-svc restart`,
		want:    []string{"invoke-rc.d: rc=", "policy-rc.d denied", "systemctl: rc=0 ", "ignoring"},
		mayPass: []string{"invoke-rc.d", "systemctl", "service"},
		warns:   []string{"left process", "sleep " + longSleep}},
	{name: "reboot", script: `try reboot-syscall sys 169 0 0 0 0
try reboot-command reboot -f`,
		want: []string{"reboot-syscall: rc=1 Operation not permitted", "reboot-command: rc="}, mayPass: []string{"reboot-command"}},
	{name: "module", script: `try finit_module sys 313 -1 "" 0
try delete_module sys 176 loop 0
try modprobe modprobe dummy`,
		want: []string{"finit_module: rc=1", "delete_module: rc=1", "modprobe: rc=1"}},
	{name: "network", script: `try addlink ip link add drdevil0 type dummy
try linkdown ip link set dev lo down
try firewall nft add table inet drdevil`,
		want: []string{"addlink: rc=2 RTNETLINK answers: Operation not permitted", "linkdown: rc=2 RTNETLINK answers: Operation not permitted", "firewall: rc=1", "Operation not permitted"}},
	{name: "hostname", script: `try hostname-syscall sys 170 drd-evil 8
try hostname-command hostname drd-evil`,
		want: []string{"hostname-syscall: rc=1 Operation not permitted", "hostname-command: rc=1"}},
	{name: "clock", script: `try settimeofday sys 164 0 0
try date date -s @0`,
		want: []string{"settimeofday: rc=1 Operation not permitted", "date: rc=1 date: cannot set date: Operation not permitted"}},
	{name: "sysctl", script: `try sysctl sh -c 'cat /proc/sys/vm/swappiness > /proc/sys/vm/swappiness'
try sysctl-command sysctl -w kernel.sysrq=0`,
		want: []string{"sysctl: rc=2 sh: 1: cannot create /proc/sys/vm/swappiness: Read-only file system", "sysctl-command: rc=", "Read-only file system"}},
	{name: "disk", script: `try mknod-disk sh -c "mknod /root/disk b $DISKMAJ $DISKMIN && dd if=/dev/zero of=/root/disk bs=512 count=1 conv=notrunc"
try dev-disk dd if=/dev/zero of=/dev/loop0 bs=512 count=1 conv=nocreat
dd if=/dev/zero of=/dev/loop0 bs=512 count=1 conv=nocreat 2>/dev/null || echo "plain-dd: refused"`,
		want: []string{"mknod-disk: rc=1 mknod: /root/disk: Operation not permitted", "dev-disk: rc=1 dd: failed to open '/dev/loop0': No such file or directory", "plain-dd: refused"}, unsafe: true},
	{name: "escape", script: `try chroot-escape perl -e 'mkdir "/tmp/x"; chroot "/tmp/x" or die "chroot: $!\n"; chdir ".." for 1..64; chroot "." or die "chroot .: $!\n"; opendir(D, $ARGV[0]) or die "$!\n"' "$HOSTDIR"
try dotdot ls "/../../../../../../$HOSTDIR"
try proc-root sh -c 'for p in /proc/[0-9]*/root; do ls "$p$HOSTDIR" 2>/dev/null && exit 0; done; echo confined; exit 1'
try fd-walk sh -c 'for fd in /proc/self/fd/*; do ls "$fd/$HOSTDIR" 2>/dev/null && exit 0; done; echo confined; exit 1'`,
		want: []string{"chroot-escape: rc=2 No such file or directory", "dotdot: rc=2 ls: cannot access", "proc-root: rc=1 confined", "fd-walk: rc=1 confined"}},
	// Issue 12's doors, each closed by the seccomp filter, the
	// capabilities, the key ring or the network namespace.
	{name: "keyring", script: `try add-key sys 248 user drd-evil x 1 -4
try keyctl-read sys 250 11 -4 0 0
try keyctl-join sys 250 1 0`,
		want: []string{"add-key: rc=1 Operation not permitted", "keyctl-read: rc=1 Operation not permitted", "keyctl-join: rc=1 Operation not permitted"}},
	{name: "handle", script: `try name-to-handle perl -e 'my $p = "/"; my $h = pack("Ii", 128, 0) . ("\0" x 128); my $m = pack("i", 0); syscall(303, -100, $p, $h, $m, 0) < 0 and die "$!\n"'
try open-by-handle sys 304 -100 0 0`,
		want: []string{"name-to-handle: rc=1 Operation not permitted", "open-by-handle: rc=1 Operation not permitted"}},
	{name: "userns", script: `try unshare-root unshare -U -r -m sh -c 'mount -t tmpfs none /mnt'
try new-mount-api sys 430 tmpfs 0`,
		want: []string{"unshare-root: rc=1 unshare: unshare failed: Operation not permitted", "new-mount-api: rc=1 Operation not permitted"}},
	{name: "audit", script: `try audit-read perl -MSocket -e 'socket(S, 16, 3, 9) or die "socket: $!\n"; bind(S, pack("SSLL", 16, 0, 0, 1)) or die "$!\n"'`,
		want: []string{"audit-read: rc=1 Operation not permitted"}},
	{name: "loopback", script: `try loopback perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $ARGV[0], Timeout => 3) or die "$@\n"' "$HOSTPORT"
try abstract perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Peer => "\0" . $ARGV[0]) or die "$!\n"' "$HOSTABSTRACT"`,
		want: []string{"loopback: rc=", "Connection refused", "abstract: rc=111 Connection refused"}},
	{name: "daemon", script: `sleep $LONGSLEEP &
sh -c "trap '' TERM; touch /tmp/drd-attack-deaf; exec sleep $LONGSLEEP" &
while [ ! -e /tmp/drd-attack-deaf ]; do sleep 0.1; done
echo started`,
		want: []string{"started"}, warns: []string{"left process", "SIGTERM", "SIGKILL"}},
}

// TestRuncmdAttacks installs, each in its own subtest, a package whose
// postinst tries one attack on the booted system (the machine running
// the test, and the test's booted system image), through drd runcmd on
// one shared clone. After each: the booted system is unchanged, the
// package is installed in the clone (its scripts tolerate the failures),
// not on the booted system, and nothing of it runs any longer.
func TestRuncmdAttacks(t *testing.T) {
	ctx := context.Background()
	s := clonedMinbase(t, ctx)
	root := s.Root
	name := cloneName(t, ctx, root)
	depot := t.TempDir()
	os.Chmod(depot, 0o755)
	hostDir := t.TempDir()
	victim := sentinel(t)
	sockDir, err := os.MkdirTemp("/run", "drd-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "daemon.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	// The booted system's loopback services: a TCP listener on
	// 127.0.0.1 and an abstract Unix socket, each counted in accepted.
	tcp, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	abstract, err := net.Listen("unix", fmt.Sprintf("@drd-attack-%d", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	defer abstract.Close()
	for _, l := range []net.Listener{tcp, abstract} {
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				c.Close()
			}
		}()
	}
	var st unix.Stat_t
	if err := unix.Stat(s.Disk, &st); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	out, _ := os.Create(filepath.Join(t.TempDir(), "out"))
	defer out.Close()

	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			pkg := "drd-attack-" + a.name
			postinst := "#!/bin/sh\nexec >/var/log/drd-attack.log 2>&1\n" +
				fmt.Sprintf("export HOSTPID=%d HOSTDIR=%s HOSTSOCK=%s DISKMAJ=%d DISKMIN=%d HOSTPORT=%d HOSTABSTRACT=%s LONGSLEEP=%s\n", victim.Process.Pid, hostDir, sock, unix.Major(st.Rdev), unix.Minor(st.Rdev),
					tcp.Addr().(*net.TCPAddr).Port, abstract.Addr().String()[1:], longSleep) +
				sysProbe + a.script + "\nexit 0\n"
			deb := makeDeb(t, depot, pkg, "", map[string]string{"postinst": postinst}, a.files)
			host := readHost(t)
			keys := userKeys(t)
			booted := hashTree(t, root, "etc", "usr/sbin", "var/lib/dpkg", "root")
			disk := hashHead(t, s.Disk)

			run := func(allow bool) (*recorder, error) {
				r := &recorder{t: t}
				err := Run(ctx, Options{Root: root, Image: name, Argv: []string{"dpkg", "-i", deb}, Depots: []string{depot},
					AllowUnsafe: allow, Name: pkg, Note: "attack " + a.name, User: "tester", Stdio: Stdio{Out: out, Err: out}, Exe: exe}, r)
				data, _ := os.ReadFile(out.Name())
				t.Logf("drd runcmd dpkg -i %s: %v\n%s", deb, err, data)
				out.Truncate(0)
				out.Seek(0, 0)
				return r, err
			}
			if a.unsafe {
				if _, err := run(false); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), pkg) || !strings.Contains(err.Error(), "rule boot-record") {
					t.Errorf("an unsafe package without allow_unsafe: %v, want refused naming it and the rule", err)
				}
				inImage(t, root, func(dir string) {
					if v := installed(dir, pkg); v != "" {
						t.Errorf("refused, yet %s %s is installed in the clone", pkg, v)
					}
				})
			}
			r, err := run(a.unsafe)
			if err != nil {
				t.Fatal(err)
			}
			warned := strings.Join(r.warns, "\n")
			for _, w := range a.warns {
				if !strings.Contains(warned, w) {
					t.Errorf("no warning saying %q in\n%s", w, warned)
				}
			}
			if a.unsafe && !strings.Contains(warned, "not DRD-safe, run anyway") {
				t.Errorf("an unsafe package run with allow_unsafe without a warning:\n%s", warned)
			}
			if len(a.warns) == 0 && !a.unsafe && len(r.warns) > 0 {
				t.Errorf("warnings: %s", warned)
			}

			host.same(t, readHost(t))
			if k := userKeys(t); k != keys {
				t.Errorf("root's user key ring changed: %s -> %s", keys, k)
			}
			alive(t, victim)
			if h := hashTree(t, root, "etc", "usr/sbin", "var/lib/dpkg", "root"); h != booted {
				t.Error("the booted system image's files changed")
			}
			if h := hashHead(t, s.Disk); h != disk {
				t.Errorf("the booted system's disk %s changed", s.Disk)
			}
			if n := accepted.Load(); n != 0 {
				t.Errorf("the booted system's socket took %d connection(s)", n)
			}
			if v := installed(root, pkg); v != "" {
				t.Errorf("%s %s is installed on the booted system", pkg, v)
			}
			if pids := sleepers(t); len(pids) > 0 {
				t.Errorf("processes of the package still run: %v", pids)
			}
			inImage(t, root, func(dir string) {
				if v := installed(dir, pkg); v != "1.0-1" {
					t.Errorf("%s is %q in the clone, want 1.0-1 installed", pkg, v)
				}
				log, err := os.ReadFile(filepath.Join(dir, "var/log/drd-attack.log"))
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("the attack's log:\n%s", log)
				for _, w := range a.want {
					if !strings.Contains(string(log), w) {
						t.Errorf("the attack's log lacks %q", w)
					}
				}
				for _, l := range strings.Split(string(log), "\n") {
					name, rest, _ := strings.Cut(l, ": ")
					if strings.HasPrefix(rest, "rc=0 ") && !slices.Contains(a.mayPass, name) {
						t.Errorf("an attack succeeded: %s", l)
					}
				}
				for _, f := range []string{"usr/sbin/policy-rc.d", strings.TrimPrefix(depot, "/")} {
					if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
						t.Errorf("/%s left in the image", f)
					}
				}
			})
			ev := lastEventLog(t, root)
			if ev.Name != pkg || ev.Notes != "attack "+a.name || ev.User != "tester" || ev.Type != "runcmd" ||
				len(ev.Succeed) != 1 || ev.Succeed[0] != pkg+"=1.0-1" || len(ev.Fail) != 0 || ev.Command != "dpkg -i "+deb {
				t.Errorf("event record %+v", ev)
			}
		})
	}
}

// lastEventLog reads the last record of the booted system's event log.
func lastEventLog(t *testing.T, root string) eventlog.Record {
	t.Helper()
	b, err := os.ReadFile(eventlog.EventPath(root))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	r, err := eventlog.Parse(lines[len(lines)-1])
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRuncmdOnClone: the runcmd environment's contract for package
// scripts (variables, policy-rc.d, systemctl), the precheck and its
// report, refusals of unsafe packages by dpkg and apt, and an
// interrupted command that leaves the image broken until a later runcmd.
// It runs on each Debian release (apt 2.6 and dpkg 1.21, apt 3 and dpkg
// 1.22).
func TestRuncmdOnClone(t *testing.T) {
	forReleases(t, runcmdOnClone)
}

func runcmdOnClone(t *testing.T, sys mb.System) {
	ctx := context.Background()
	s := clonedMinbaseOf(t, ctx, sys)
	root := s.Root
	name := cloneName(t, ctx, root)
	depot := t.TempDir()
	os.Chmod(depot, 0o755)
	out, _ := os.Create(filepath.Join(t.TempDir(), "out"))
	defer out.Close()
	exe, _ := os.Executable()
	run := func(ctx context.Context, o Options) (*recorder, string, error) {
		r := &recorder{t: t}
		o.Root, o.Image, o.Stdio, o.Exe = root, name, Stdio{Out: out, Err: out}, exe
		o.Depots = append(o.Depots, depot)
		err := Run(ctx, o, r)
		data, _ := os.ReadFile(out.Name())
		t.Logf("drd runcmd %s: %v\n%s", strings.Join(o.Argv, " "), err, data)
		out.Truncate(0)
		out.Seek(0, 0)
		return r, string(data), err
	}
	unit := "[Unit]\nDescription=drd test\n[Service]\nExecStart=/bin/sleep " + longSleep + "\n[Install]\nWantedBy=multi-user.target\n"
	envProbe := `#!/bin/sh
exec >/var/log/drd-env.log 2>&1
echo "SW_SESSION_IS_DRD=$SW_SESSION_IS_DRD"
echo "SYSTEMD_OFFLINE=$SYSTEMD_OFFLINE"
echo "DEBIAN_FRONTEND=$DEBIAN_FRONTEND"
echo "FOO=$FOO"
echo "PATH=$PATH"
/usr/sbin/policy-rc.d drd-env start; echo "policy-rc.d: $?"
systemctl enable drd-env.service; echo "enable: $?"
systemctl start drd-env.service; echo "start: $?"
systemctl is-enabled drd-env.service
exit 0
`
	makeDeb(t, depot, "drd-env", "", map[string]string{"postinst": envProbe}, map[string]string{"/lib/systemd/system/drd-env.service": unit})
	makeDeb(t, depot, "drd-unsafe", "X-DRD-Safe: no\n", nil, nil)
	makeDeb(t, depot, "drd-neutral", "", map[string]string{"postinst": "#!/bin/sh\ndeb-systemd-invoke start drd-neutral.service || true\n"}, nil)
	makeDeb(t, depot, "drd-efi", "", map[string]string{"postinst": "#!/bin/sh\nset -e\nefibootmgr -o 0001,0000\n"}, nil)
	// A duration of its own, so that other sleeps on the host do not count.
	makeDeb(t, depot, "drd-slow", "", map[string]string{"postinst": "#!/bin/sh\nsleep " + slowSleep + "\n"}, nil)

	t.Run("environment", func(t *testing.T) {
		// The image has a policy-rc.d of its own: covered during the
		// session, preserved after.
		own := "#!/bin/sh\nexit 0\n"
		inImage(t, root, func(dir string) {
			if err := os.WriteFile(filepath.Join(dir, "usr/sbin/policy-rc.d"), []byte(own), 0o755); err != nil {
				t.Fatal(err)
			}
		})
		_, _, err := run(ctx, Options{Argv: []string{"dpkg", "-i", depot + "/drd-env.deb"}, Env: []string{"DEBIAN_FRONTEND=noninteractive", "FOO=bar", "PATH=/home/x/bin:/usr/bin"}})
		if err != nil {
			t.Fatal(err)
		}
		inImage(t, root, func(dir string) {
			log, _ := os.ReadFile(filepath.Join(dir, "var/log/drd-env.log"))
			t.Logf("inside:\n%s", log)
			for _, w := range []string{"SW_SESSION_IS_DRD=1\n", "SYSTEMD_OFFLINE=1\n", "DEBIAN_FRONTEND=noninteractive\n", "FOO=\n",
				"PATH=" + shimDir + ":" + jailPath + "\n", "policy-rc.d: 101\n", "enable: 0\n", "start: 0\n", "enabled\n"} {
				if !strings.Contains(string(log), w) {
					t.Errorf("inside: no %q", w)
				}
			}
			if l, err := os.Readlink(filepath.Join(dir, "etc/systemd/system/multi-user.target.wants/drd-env.service")); err != nil || !strings.HasSuffix(l, "drd-env.service") {
				t.Errorf("systemctl enable made no link in the image: %q %v", l, err)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "usr/sbin/policy-rc.d")); string(b) != own {
				t.Errorf("the image's own policy-rc.d is now %q", b)
			}
			os.Remove(filepath.Join(dir, "usr/sbin/policy-rc.d"))
		})
		if _, err := os.Lstat(filepath.Join(root, "etc/systemd/system/multi-user.target.wants/drd-env.service")); err == nil {
			t.Error("systemctl enable changed the booted system")
		}
		if pids := sleepers(t); len(pids) > 0 {
			t.Errorf("systemctl start started %v", pids)
		}
	})

	t.Run("precheck", func(t *testing.T) {
		_, text, err := run(ctx, Options{Argv: []string{"apt-get", "install", "-y", depot + "/drd-efi.deb", depot + "/drd-neutral.deb"}, PrecheckOnly: true})
		if !errors.Is(err, ErrRefused) {
			t.Errorf("precheck of an unsafe package: %v, want refused", err)
		}
		for _, w := range []string{"install drd-efi 1.0-1: UNSAFE", "postinst line 3: efibootmgr -o 0001,0000", "rule efi-variables", "result: REFUSED", "install drd-neutral 1.0-1: neutralized by the runcmd environment", "postinst line 2: deb-systemd-invoke start drd-neutral.service || true", "policy-rc.d denies it"} {
			if !strings.Contains(text, w) {
				t.Errorf("the report lacks %q", w)
			}
		}
		_, js, err := run(ctx, Options{Argv: []string{"apt-get", "remove", "-y", "psmisc"}, PrecheckOnly: true, ReportJSON: true})
		if err != nil {
			t.Fatal(err)
		}
		var rep Report
		if err := json.Unmarshal([]byte(js), &rep); err != nil {
			t.Fatalf("the JSON report: %v\n%s", err, js)
		}
		if rep.Result != "ok" || len(rep.Packages) != 1 || rep.Packages[0].Package != "psmisc" || rep.Packages[0].Action != "remove" {
			t.Errorf("report %+v", rep)
		}
		inImage(t, root, func(dir string) {
			for _, p := range []string{"drd-efi", "drd-neutral"} {
				if v := installed(dir, p); v != "" {
					t.Errorf("the precheck installed %s", p)
				}
			}
			if pkgdb.Read(dir)["psmisc:amd64"] == "" {
				t.Error("the precheck removed psmisc")
			}
		})
	})

	t.Run("unsafe", func(t *testing.T) {
		if _, _, err := run(ctx, Options{Argv: []string{"dpkg", "-i", depot + "/drd-unsafe.deb"}}); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "drd-unsafe 1.0-1: the package says X-DRD-Safe: no") {
			t.Errorf("dpkg -i of a package with X-DRD-Safe: no: %v", err)
		}
		_, _, err := run(ctx, Options{Argv: []string{"apt-get", "install", "-y", depot + "/drd-efi.deb", depot + "/drd-unsafe.deb"}})
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "drd-efi") || !strings.Contains(err.Error(), "drd-unsafe") {
			t.Fatalf("apt-get of unsafe packages: %v", err)
		}
		state, ev := lastEvent(t, root)
		if state != bootenv.Complete || ev.Result != "failed" || len(ev.Changes) != 0 {
			t.Errorf("state %s, event %+v", state, ev)
		}
		if rec := lastEventLog(t, root); len(rec.Fail) != 2 || !strings.Contains(rec.Fail[0], "(refused)") {
			t.Errorf("event record %+v", rec)
		}
		if _, _, err := run(ctx, Options{Argv: []string{"sh", "-c", "true"}}); !errors.Is(err, ErrRefused) {
			t.Errorf("sh: %v, want refused", err)
		}
		r, _, err := run(ctx, Options{Argv: []string{"sh", "-c", "true"}, AllowUnsafe: true})
		if err != nil || len(r.warns) == 0 {
			t.Errorf("sh with allow_unsafe: %v, warnings %q", err, r.warns)
		}
	})

	t.Run("interrupted", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() { // cancel once the postinst sleeps, as Ctrl-C would
			for start := time.Now(); time.Since(start) < 2*time.Minute && ctx.Err() == nil; time.Sleep(50 * time.Millisecond) {
				if len(procsRunning("sleep\x00"+slowSleep+"\x00")) > 0 {
					time.Sleep(500 * time.Millisecond)
					cancel()
					return
				}
			}
		}()
		_, _, err := run(ctx, Options{Argv: []string{"dpkg", "-i", depot + "/drd-slow.deb"}})
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("err %v, want interrupted", err)
		}
		state, ev := lastEvent(t, root)
		if state != bootenv.Broken || ev.Result != "interrupted" {
			t.Errorf("state %s, event %+v", state, ev)
		}
		if _, _, err := run(context.Background(), Options{Argv: []string{"dpkg", "--remove", "drd-slow"}}); err != nil {
			t.Fatal(err)
		}
		state, ev = lastEvent(t, root)
		if state != bootenv.Complete || ev.Result != "succeeded" || len(ev.Changes) != 1 || ev.Changes[0].To != "" {
			t.Errorf("after a completed runcmd: state %s, event %+v", state, ev)
		}
	})
	if pids := sleepers(t); len(pids) > 0 {
		t.Errorf("sleeps outlived the jail: %v", pids)
	}
}

// procsRunning lists the booted system's processes whose command line
// starts with prefix (words separated by NUL).
func procsRunning(prefix string) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.HasPrefix(string(cmd), prefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

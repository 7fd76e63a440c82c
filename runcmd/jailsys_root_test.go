package runcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/internal/report"
)

// userKeys lists the keys in root's user key ring (@u): shared by every
// process of uid 0, whatever its namespaces.
func userKeys(t *testing.T) string {
	t.Helper()
	buf := make([]byte, 4096)
	n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, unix.KEY_SPEC_USER_KEYRING, buf, 0)
	if err != nil {
		t.Fatalf("reading root's user key ring: %v", err)
	}
	return fmt.Sprintf("%x", buf[:min(n, len(buf))])
}

// syscallProbe tries, in the jail, what the seccomp filter, the
// capability drop and the key ring stand against; each line is "name:
// error" or "name: SUCCEEDED". Each try would succeed for root without
// the defence it names.
const syscallProbe = `
sys() { perl -e '@a = map { /^-?\d+$/ ? $_ + 0 : $_ } @ARGV; $n = shift @a; if (syscall($n, @a) < 0) { print STDERR "$!\n"; exit 1 }' "$@"; }
try() { name=$1; shift; if "$@" >/tmp/err 2>&1; then echo "$name: SUCCEEDED"; else echo "$name: $(tr '\n' ' ' </tmp/err)"; fi; }
# seccomp: these need no capability at all.
try name_to_handle_at perl -e 'my $p = "/"; my $h = pack("Ii", 128, 0) . ("\0" x 128); my $m = pack("i", 0); syscall(303, -100, $p, $h, $m, 0) < 0 and die "$!\n"'
try add_key sys 248 user drd-evil x 1 -4
try keyctl-session sys 250 0 -3 0
try unshare-user unshare -U true
try clone3 sys 435 0 0
try fork sh -c 'echo forked | cat'
# capabilities
try audit-read perl -MSocket -e 'socket(S, 16, 3, 9) or die "socket: $!\n"; bind(S, pack("SSLL", 16, 0, 0, 1)) or die "$!\n"'
try mknod-char sh -c 'mknod /tmp/mem c 1 1'
while read -r k v; do case $k in Cap*|NoNewPrivs:|Seccomp:) echo "$k $v";; esac; done </proc/self/status
`

// TestJailSyscalls: the seccomp filter is installed (with no_new_privs)
// and inherited; the command's capabilities are exactly Kept, none
// ambient; root's user key ring on the booted system is untouched.
func TestJailSyscalls(t *testing.T) {
	root := minbase(t)
	keys := userKeys(t)
	before := readHost(t)
	_, out, err := runJail(t, context.Background(), PlanInput{Root: root, NoNet: true, Argv: []string{"sh", "-c", syscallProbe}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok {
			got[k] = strings.TrimSpace(v)
		} else if k, v, ok := strings.Cut(l, ":\t"); ok {
			got[k] = strings.TrimSpace(v)
		} else if f := strings.Fields(l); len(f) == 2 {
			got[strings.TrimSuffix(f[0], ":")] = f[1]
		}
	}
	for k, want := range map[string]string{
		"name_to_handle_at": "Operation not permitted", // EOVERFLOW without the filter
		"add_key":           "Operation not permitted",
		"keyctl-session":    "Operation not permitted",
		"unshare-user":      "Operation not permitted",
		"clone3":            "Function not implemented", // glibc falls back to clone
		"fork":              "SUCCEEDED",
		"audit-read":        "Operation not permitted",
		"mknod-char":        "Operation not permitted",
		"NoNewPrivs":        "1",
		"Seccomp":           "2",
	} {
		if !strings.Contains(got[k], want) {
			t.Errorf("%s: got %q, want %q", k, got[k], want)
		}
	}
	kept := fmt.Sprintf("%016x", keptMask())
	for _, set := range []string{"CapBnd", "CapPrm", "CapEff"} {
		if got[set] != kept {
			t.Errorf("%s %s, want exactly the kept capabilities %s", set, got[set], kept)
		}
	}
	for _, set := range []string{"CapAmb", "CapInh"} {
		if got[set] != "0000000000000000" {
			t.Errorf("%s %s, want none", set, got[set])
		}
	}
	if k := userKeys(t); k != keys {
		t.Errorf("root's user key ring changed: %s -> %s", keys, k)
	}
	before.same(t, readHost(t))
}

// TestSessionKeyring: the thread that starts the command leaves drd's
// session key ring for a new one of its own.
func TestSessionKeyring(t *testing.T) {
	requireRoot(t)
	type ids struct{ before, after int }
	ch := make(chan ids)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the thread is thrown away with its key ring
		b, _ := unix.KeyctlGetKeyringID(unix.KEY_SPEC_SESSION_KEYRING, true)
		if err := newSessionKeyring(); err != nil {
			errc <- err
			return
		}
		a, _ := unix.KeyctlGetKeyringID(unix.KEY_SPEC_SESSION_KEYRING, false)
		ch <- ids{b, a}
	}()
	select {
	case err := <-errc:
		t.Fatal(err)
	case got := <-ch:
		if got.before == got.after || got.after <= 0 {
			t.Errorf("session key ring %d before, %d after: want a new one", got.before, got.after)
		}
	}
}

// TestJailNetwork: by default the jail has a network of its own through
// slirp4netns: outbound connections work (a mirror of this machine), while a
// listener on the booted system's 127.0.0.1 and ::1, and an abstract
// Unix socket, get nothing; the booted system's links and firewall do
// not change and slirp4netns is gone after.
func TestJailNetwork(t *testing.T) {
	root := minbase(t)
	var accepted atomic.Int32
	listen := func(network, addr string) net.Listener {
		l, err := net.Listen(network, addr)
		if err != nil {
			t.Logf("no %s listener on %s: %v", network, addr, err)
			return nil
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				c.Write([]byte("booted system\n"))
				c.Close()
			}
		}()
		return l
	}
	l4 := listen("tcp4", "127.0.0.1:0")
	l6 := listen("tcp6", "[::1]:0")
	abs := listen("unix", "@drd-net-test-"+strconv.Itoa(os.Getpid()))
	port := strconv.Itoa(l4.Addr().(*net.TCPAddr).Port)
	port6 := port
	if l6 != nil {
		port6 = strconv.Itoa(l6.Addr().(*net.TCPAddr).Port)
	}
	before := readHost(t)
	probe := `
gw=$(ip route show default | { read -r _ _ gw _; echo "$gw"; })
echo "gateway: $gw"
tcp() { perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => $ARGV[1], Timeout => 3) or die "refused: $@\n"; print "reached: ", scalar <$s>' "$@"; }
echo "lo4 $(tcp 127.0.0.1 ` + port + ` 2>&1)"
echo "gw4 $(tcp "$gw" ` + port + ` 2>&1)"
echo "lo6 $(perl -MIO::Socket::IP -e '$s = IO::Socket::IP->new(PeerHost => "::1", PeerPort => $ARGV[0], Timeout => 3) or die "refused: $@\n"; print "reached\n"' ` + port6 + ` 2>&1)"
echo "abstract $(perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Peer => "\0" . $ARGV[0]) ? print "reached\n" : print "refused: $!\n"' ` + abs.Addr().String()[1:] + `)"
echo "outbound $(perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(PeerAddr => "deb.debian.org", PeerPort => 80, Timeout => 20) or die "no connection: $@\n"; print $s "GET /debian/dists/bookworm/Release HTTP/1.1\r\nHost: deb.debian.org\r\nConnection: close\r\n\r\n"; print scalar <$s>' 2>&1)"
`
	_, out, err := runJail(t, context.Background(), PlanInput{Root: root, Argv: []string{"sh", "-c", probe}})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "reached") {
			t.Errorf("the jail reached the booted system: %s", l)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the booted system's listeners took %d connection(s)", n)
	}
	if c, err := net.DialTimeout("tcp", "deb.debian.org:80", 10*time.Second); err != nil {
		t.Logf("the booted system itself does not reach deb.debian.org (%v): the outbound check is left out", err)
	} else {
		c.Close()
		if !strings.Contains(out, "outbound HTTP/1.") || !strings.Contains(out, " 200 ") {
			t.Errorf("no outbound connection from the jail:\n%s", out)
		}
	}
	before.same(t, readHost(t))
	if ps := procsWith("--disable-host-loopback"); len(ps) > 0 {
		t.Errorf("slirp4netns still runs after the jail: %v", ps)
	}
}

// procsWith lists the processes whose command line holds s.
func procsWith(s string) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		cmd, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(cmd, []byte(s)) {
			out = append(out, e.Name()+" "+strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
	return out
}

// TestJailWithoutSlirp: the default network needs slirp4netns; without
// it the jail is not started, and the error says what to do.
func TestJailWithoutSlirp(t *testing.T) {
	root := minbase(t)
	_, err := Jail{Slirp: "/nonexistent/slirp4netns"}.Run(context.Background(), Plan(PlanInput{Root: root, Argv: []string{"true"}}), Stdio{}, report.Discard)
	if !errors.Is(err, ErrNoSlirp) || !strings.Contains(err.Error(), "apt-get install slirp4netns") || !strings.Contains(err.Error(), "network=false") {
		t.Errorf("err %v, want ErrNoSlirp saying how to go on", err)
	}
}

// terminalProbe runs in the jail on the relayed terminal: it tries to
// push keystrokes into every terminal it holds, then asks a question as
// dpkg does for a changed conffile and reports the answer.
const terminalProbe = `
for fd in 0 1 2; do perl -e 'open(T, "+<&=", $ARGV[0]) or die "fd: $!\n"; my $c = "X"; ioctl(T, 0x5412, $c) ? print "sti$ARGV[0]: INJECTED\n" : print "sti$ARGV[0]: $!\n"' $fd; done
perl -e 'open(T, "+<", "/dev/tty") or die "sti-tty: $!\n"; my $c = "X"; ioctl(T, 0x5412, $c) ? print "sti-tty: INJECTED\n" : print "sti-tty: $!\n"'
echo "size: $(stty size)"
printf "Configuration file '/etc/drd.conf'\n ==> Modified (by you or by a script) since installation.\n ==> Package distributor has shipped an updated version.\n *** drd.conf (Y/I/N/O/D/Z) [default=N] ? "
read -r ans
echo "answer=$ans"
`

// TestJailTerminalHelper is drd in TestJailTerminal: a process whose
// controlling terminal is the operator's, running the probe in a jail.
func TestJailTerminalHelper(t *testing.T) {
	root := os.Getenv("DRD_TEST_TERMINAL_ROOT")
	if root == "" {
		t.Skip("run by TestJailTerminal")
	}
	res, err := Jail{}.Run(context.Background(), Plan(PlanInput{Root: root, NoNet: true, Argv: []string{"sh", "-c", terminalProbe}}),
		Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, report.Discard)
	if err != nil || res.Exit != 0 {
		t.Fatalf("%+v %v", res, err)
	}
}

// TestJailTerminal: drd's controlling terminal is the operator's (a
// pseudo-terminal the test drives). The command gets a terminal of its
// own: pushing keystrokes (TIOCSTI) fails and leaves nothing in the
// operator's input; a conffile question is answered through the relay;
// the window size follows; the operator's terminal modes come back.
func TestJailTerminal(t *testing.T) {
	root := minbase(t)
	ptm, pts, err := openPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer ptm.Close()
	defer pts.Close()
	if err := unix.IoctlSetWinsize(int(pts.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 37, Col: 101}); err != nil {
		t.Fatal(err)
	}
	modes, err := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestJailTerminalHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "DRD_TEST_TERMINAL_ROOT="+root)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	read := func(until string, d time.Duration) bool {
		deadline := time.Now().Add(d)
		buf := make([]byte, 4096)
		for !strings.Contains(out.String(), until) {
			ptm.SetReadDeadline(deadline)
			n, err := ptm.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return strings.Contains(out.String(), until)
			}
		}
		return true
	}
	if !read("[default=N] ? ", 60*time.Second) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("no conffile question on the operator's terminal:\n%s", out.String())
	}
	ptm.Write([]byte("Y\r")) // the Enter key of a terminal in raw mode
	read("\nPASS", 30*time.Second)
	read("\nok", time.Second) // the helper's last words, if any
	if err := cmd.Wait(); err != nil {
		t.Errorf("the helper: %v", err)
	}
	text := out.String()
	t.Logf("the operator's terminal:\n%s", text)
	for _, want := range []string{"sti0: Operation not permitted", "sti1: Operation not permitted", "sti2: Operation not permitted",
		"sti-tty: Operation not permitted", "size: 37 101", "answer=Y"} {
		if !strings.Contains(text, want) {
			t.Errorf("the operator's terminal lacks %q", want)
		}
	}
	if strings.Contains(text, "INJECTED") {
		t.Error("the command pushed keystrokes into a terminal")
	}
	if n, err := unix.IoctlGetInt(int(pts.Fd()), unix.TIOCINQ); err != nil || n != 0 {
		t.Errorf("the operator's terminal holds %d byte(s) of input nobody typed (%v)", n, err)
	}
	after, err := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if after.Lflag != modes.Lflag || after.Iflag != modes.Iflag || after.Oflag != modes.Oflag {
		t.Errorf("the operator's terminal modes changed: %+v -> %+v", modes, after)
	}
}

// TestJailFds: the command holds no file of the init's: drd's status
// pipe would let it forge drd's report (exit status, placeholders to
// remove, leftovers), the network pipe would be the init's.
func TestJailFds(t *testing.T) {
	root := minbase(t)
	for _, noNet := range []bool{false, true} {
		_, out, err := runJail(t, context.Background(), PlanInput{Root: root, NoNet: noNet,
			Argv: []string{"sh", "-c", `for fd in 3 4 5 6 7; do [ ! -e /proc/$$/fd/$fd ] || echo "open: $fd $(readlink /proc/$$/fd/$fd)"; done; echo checked`}})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "open: ") || !strings.Contains(out, "checked") {
			t.Errorf("NoNet %v: the command holds the init's files:\n%s", noNet, out)
		}
	}
}

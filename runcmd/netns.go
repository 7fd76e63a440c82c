package runcmd

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The jail's network (-x network=):
//   - true (the default): a network namespace of its own, connected to
//     the outside by slirp4netns, a user-mode network stack: the jail's
//     TCP and UDP connections are made again from the booted system's
//     namespace by ordinary sockets, so apt reaches the configured
//     mirrors, while the booted system's loopback services (127.0.0.1,
//     ::1) and abstract Unix sockets are out of reach:
//     --disable-host-loopback (the gateway address does not lead to the
//     host's loopback), and no port is forwarded either way. The jail's
//     subnet is one the booted system does not use (jailSubnet), so that
//     every address of its networks stays reachable. slirp4netns runs
//     sandboxed (--enable-sandbox: an empty root of its own, every
//     capability dropped; --enable-seccomp). Nothing of the booted
//     system's network configuration (links, addresses, routes,
//     firewall) changes: slirp4netns configures only the jail's
//     namespace.
//   - false: a namespace of its own with only a loopback link.
//   - host: the booted system's namespace, as before drd 0.x; drd warns.
//
// slirp4netns, not pasta (passt): both give the same isolation, but
// pasta touches 30 MB of tables before it is ready, 135 ms on the test
// machine against 20 ms for slirp4netns, with the same download speed
// (docs/runcmd.md).

// Network modes of the jail, the values of -x network=.
const (
	NetworkOwn  = "true"
	NetworkNone = "false"
	NetworkHost = "host"
)

// ErrNoSlirp is returned when the jail's network needs slirp4netns and
// it is not installed.
var ErrNoSlirp = errors.New("slirp4netns is not installed: install it (apt-get install slirp4netns), or run with -x network=false (no network in the runcmd environment) or -x network=host (the booted system's network, not isolated)")

// The descriptors slirp4netns gets: the jail's namespace, and the pipe
// on which it says it is ready.
const (
	slirpNSFD    = 3
	slirpReadyFD = 4
)

// slirpArgs is slirp4netns's command line for the namespace it gets as
// slirpNSFD, on subnet (IPv4 only: docs/runcmd.md); dns
// keeps slirp4netns's DNS forwarder (the subnet's .3: dns.go).
func slirpArgs(subnet netip.Prefix, dns bool) []string {
	args := []string{
		"--configure",               // the tap link's address and routes, in the jail only
		"--mtu=65520",               // fewer, larger packets: the host's download speed
		"--disable-host-loopback",   // the gateway address is not the host's loopback
		"--enable-sandbox",          // an empty root of its own, capabilities dropped
		"--enable-seccomp",          // and a system call filter
		"--cidr=" + subnet.String(), // a subnet the booted system does not use
		"--netns-type=path",         // the namespace is a descriptor, not a process
		"--ready-fd=" + strconv.Itoa(slirpReadyFD),
	}
	if !dns {
		args = append(args, "--disable-dns") // the jail names its resolver itself
	}
	return append(args, "/proc/self/fd/"+strconv.Itoa(slirpNSFD), "tap0")
}

// slirp is a running slirp4netns process.
type slirp struct {
	cmd    *exec.Cmd
	exited chan error
	ready  chan bool // true once slirp4netns said it is ready; false when its pipe closed first
	ok     bool
	stderr bytes.Buffer
}

// slirpNet is how the jail's namespace is connected: slirp4netns's
// path, the subnet, and the image's resolver on the booted
// system's loopback ("": none, dns.go).
type slirpNet struct {
	bin     string
	subnet  netip.Prefix
	dnsHost string
}

// startSlirp connects the network namespace ns to the outside through
// slirp4netns, which is ready later (wait). slirp4netns starts through
// drd (SlirpArg) in a mount namespace of its own; with dnsHost its
// /etc/resolv.conf there names dnsHost, to which it forwards the jail's
// DNS queries.
func startSlirp(n slirpNet, ns *os.File) (*slirp, error) {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer readyW.Close()
	args := slirpArgs(n.subnet, n.dnsHost != "")
	resolver := n.dnsHost
	if resolver == "" {
		resolver = noResolver
	}
	// Through drd, in a mount namespace of its own whose mounts drd
	// makes private first: slirp4netns's sandbox mounts a tmpfs on /tmp
	// and pivot_roots into it, which the kernel refuses when /tmp is a
	// shared mount of its own (Debian 13's tmp.mount: "cannot pivot_root
	// to /tmp", TestJailSlirpSharedTmp).
	p := &slirp{}
	p.cmd = exec.Command("/proc/self/exe", append([]string{SlirpArg, resolver, n.bin}, args...)...)
	p.cmd.Args[0] = "drd"
	p.cmd.SysProcAttr = &unix.SysProcAttr{Pdeathsig: unix.SIGTERM, Cloneflags: unix.CLONE_NEWNS}
	p.cmd.Env = []string{}
	p.cmd.ExtraFiles = []*os.File{ns, readyW} // slirpNSFD, slirpReadyFD
	p.cmd.Stdout = &p.stderr                  // it tells of its tap device there
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		readyR.Close()
		return nil, fmt.Errorf("starting %s for the jail's network: %w", n.bin, err)
	}
	p.exited = make(chan error, 1)
	go func() { p.exited <- p.cmd.Wait() }()
	p.ready = make(chan bool, 1)
	go func() {
		defer readyR.Close()
		b := make([]byte, 1)
		k, _ := readyR.Read(b)
		p.ready <- k == 1
	}()
	return p, nil
}

// wait returns once slirp4netns has configured the namespace, or fails
// when it ends or timeout passes first.
func (p *slirp) wait(timeout time.Duration) error {
	if p.ok {
		return nil
	}
	deadline := time.After(timeout)
	select {
	case ok := <-p.ready:
		if ok {
			p.ok = true
			return nil
		}
		// Its ready descriptor closed without a byte: it is ending.
		select {
		case err := <-p.exited:
			p.exited <- err
			return fmt.Errorf("slirp4netns, the jail's network, failed (%v): %s", err, strings.TrimSpace(p.stderr.String()))
		case <-deadline:
		}
	case <-deadline:
	}
	return fmt.Errorf("slirp4netns, the jail's network, was not ready after %v", timeout)
}

// stop ends slirp4netns.
func (p *slirp) stop() {
	p.cmd.Process.Kill()
	err := <-p.exited
	p.exited <- err
}

// JailNet is the jail's network made ahead of the jail (Jail.Prepare):
// a network namespace with no process in it yet, and the slirp4netns
// that connects it, starting while drd does the rest of its work. The
// jail's init is started in it.
type JailNet struct {
	ns *os.File
	p  *slirp
}

// newJailNet makes a network namespace and starts slirp4netns on it.
func newJailNet(n slirpNet) (*JailNet, error) {
	ns, err := newNetNS()
	if err != nil {
		return nil, err
	}
	p, err := startSlirp(n, ns)
	if err != nil {
		ns.Close()
		return nil, err
	}
	return &JailNet{ns: ns, p: p}, nil
}

// end kills slirp4netns without waiting for it to go (Close waits): once
// the jail's command is done, its exit overlaps drd's work after it.
func (n *JailNet) end() {
	if n != nil && n.p != nil {
		n.p.cmd.Process.Kill()
	}
}

// Close ends slirp4netns and lets go of the namespace.
func (n *JailNet) Close() {
	if n == nil || n.p == nil {
		return
	}
	n.p.stop()
	n.ns.Close()
	n.p = nil
}

// newNetNS makes a network namespace with only a loopback link, and no
// process in it: the returned file holds it.
func newNetNS() (*os.File, error) {
	var ns *os.File
	err := inNetNS(nil, func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("making the jail's network namespace: %w", err)
		}
		var err error
		ns, err = os.Open("/proc/thread-self/ns/net")
		return err
	})
	return ns, err
}

// inNetNS runs f on a thread of its own in the network namespace ns
// (nil: f moves the thread itself), and puts the thread back into this
// process's namespace after: what f starts (a process) is in ns. A
// thread that cannot be put back is never used again.
func inNetNS(ns *os.File, f func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	if ns != nil {
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			return fmt.Errorf("entering the jail's network namespace: %w", err)
		}
	}
	ferr := f()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// Locked and never unlocked: the thread ends with its goroutine.
		return errors.Join(ferr, fmt.Errorf("leaving the jail's network namespace: %w", err))
	}
	runtime.UnlockOSThread()
	return ferr
}

// waitNetwork is the init's side: it waits for drd's byte on ready,
// which comes once slirp4netns has configured the jail's namespace; drd closes
// it without a byte when slirp4netns failed (and kills the jail).
func waitNetwork(ready *os.File) error {
	defer ready.Close()
	b := make([]byte, 1)
	if n, _ := ready.Read(b); n != 1 {
		return errors.New("the jail's network did not come up (slirp4netns failed; drd says why)")
	}
	return nil
}

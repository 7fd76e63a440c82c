package runcmd

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The jail's network (-x network=):
//   - true (the default): a network namespace of its own, connected to
//     the outside by pasta (Debian's passt package), a user-mode network
//     stack: the jail's TCP and UDP connections and ICMP echo are made
//     again from the booted system's namespace by ordinary sockets, so
//     apt reaches the configured mirrors, while the booted system's
//     loopback services (127.0.0.1, ::1) and abstract Unix sockets are
//     out of reach: --no-map-gw (the gateway address does not lead to the
//     host's loopback), -T none -U none (no port of the host's loopback is
//     forwarded into the jail), -t none -u none (none of the jail's into
//     the host). Nothing of the booted system's network configuration
//     (links, addresses, routes, firewall) changes: pasta configures only
//     the jail's namespace.
//   - false: a namespace of its own with only a loopback link.
//   - host: the booted system's namespace, as before drd 0.x; drd warns.

// Network modes of the jail, the values of -x network=.
const (
	NetworkPasta = "true"
	NetworkNone  = "false"
	NetworkHost  = "host"
)

// ErrNoPasta is returned when the jail's network needs pasta and it is
// not installed.
var ErrNoPasta = errors.New("pasta (package passt) is not installed: install it (apt-get install passt), or run with -x network=false (no network in the runcmd environment) or -x network=host (the booted system's network, not isolated)")

// pastaArgs is pasta's command line for the network namespace at nsPath,
// writing its PID into pidFile when the namespace is ready.
func pastaArgs(nsPath, pidFile string, dns bool) []string {
	args := []string{
		"--foreground", "--quiet",
		"--runas", "0", // as nobody it cannot join a namespace of root's; it drops its capabilities anyway
		"--config-net",    // addresses and routes of the host's outbound link, in the jail only
		"--netns", nsPath, // the jail's namespace, held open by drd
		"--no-map-gw",              // the gateway address is not the host's loopback
		"-t", "none", "-u", "none", // no port into the jail
		"-T", "none", "-U", "none", // no port of the host's loopback into the jail
		"--pid", pidFile,
	}
	if dns {
		// UDP to dnsForward:53 goes to the first nameserver of pasta's
		// /etc/resolv.conf (dns.go), and its answers come back from there.
		args = append(args, "--dns-forward", dnsForward)
	}
	return args
}

// pasta is a running pasta process.
type pasta struct {
	cmd     *exec.Cmd
	exited  chan error
	dir     string
	pidFile string
	ready   bool
	stderr  bytes.Buffer
}

// startPasta connects the network namespace of process pid (the jail's
// init, as the booted system sees it) to the outside through the pasta
// at bin, and returns once the namespace has its link, addresses and
// routes. With dnsHost (an address on the booted system's loopback:
// the image's resolver, dns.go) pasta starts through drd in a mount
// namespace of its own whose /etc/resolv.conf names dnsHost, and
// forwards the jail's DNS queries to dnsForward there.
func startPasta(bin string, ns *os.File, dnsHost string) (*pasta, error) {
	dir, err := os.MkdirTemp("", "drd-pasta-")
	if err != nil {
		return nil, err
	}
	pidFile := filepath.Join(dir, "pid")
	p := &pasta{dir: dir, pidFile: pidFile}
	// The namespace is pasta's standard input: pasta from Debian 13 on
	// closes every inherited descriptor above 2 when it starts (a
	// /proc/self/fd/3 is gone by the time it opens it), and drd's own
	// /proc/PID/fd/N is refused to it once it dropped its capabilities.
	const nsPath = "/proc/self/fd/0"
	p.cmd = exec.Command(bin, pastaArgs(nsPath, pidFile, dnsHost != "")...)
	p.cmd.SysProcAttr = &unix.SysProcAttr{Pdeathsig: unix.SIGTERM}
	if dnsHost != "" {
		p.cmd = exec.Command("/proc/self/exe", append([]string{PastaArg, dnsHost, bin}, pastaArgs(nsPath, pidFile, true)...)...)
		p.cmd.Args[0] = "drd"
		p.cmd.SysProcAttr = &unix.SysProcAttr{Pdeathsig: unix.SIGTERM, Cloneflags: unix.CLONE_NEWNS}
	}
	p.cmd.Stdin = ns
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s for the jail's network: %w", bin, err)
	}
	exited := make(chan error, 1)
	p.exited = exited
	go func() { exited <- p.cmd.Wait() }()
	return p, nil
}

// wait returns once pasta has configured the namespace (it writes its
// PID then), or fails when pasta ends or timeout passes first.
func (p *pasta) wait(timeout time.Duration) error {
	if p.ready {
		return nil
	}
	deadline := time.After(timeout)
	for {
		if b, err := os.ReadFile(p.pidFile); err == nil && len(bytes.TrimSpace(b)) > 0 {
			p.ready = true
			return nil
		}
		select {
		case err := <-p.exited:
			p.exited <- err
			return fmt.Errorf("pasta, the jail's network, failed (%v): %s", err, strings.TrimSpace(p.stderr.String()))
		case <-deadline:
			return fmt.Errorf("pasta, the jail's network, was not ready after %v: %s", timeout, strings.TrimSpace(p.stderr.String()))
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// stop ends pasta (it outlives a namespace it joined through a path).
func (p *pasta) stop() {
	p.cmd.Process.Kill()
	<-p.exited
	os.RemoveAll(p.dir)
}

// JailNet is the jail's network made ahead of the jail (Jail.Prepare):
// a network namespace with no process in it yet, and the pasta that
// connects it, starting while drd does the rest of its work. The jail's
// init is started in it.
type JailNet struct {
	ns *os.File
	p  *pasta
}

// newJailNet makes a network namespace and starts pasta (at bin) on it.
func newJailNet(bin, dnsHost string) (*JailNet, error) {
	ns, err := newNetNS()
	if err != nil {
		return nil, err
	}
	p, err := startPasta(bin, ns, dnsHost)
	if err != nil {
		ns.Close()
		return nil, err
	}
	return &JailNet{ns: ns, p: p}, nil
}

// end kills pasta without waiting for it to go (Close waits): once the
// jail's command is done, pasta's exit overlaps drd's work after it.
func (n *JailNet) end() {
	if n != nil && n.p != nil {
		n.p.cmd.Process.Kill()
	}
}

// Close ends pasta and lets go of the namespace.
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
// which comes once pasta has configured the jail's namespace; drd closes
// it without a byte when pasta failed (and kills the jail).
func waitNetwork(ready *os.File) error {
	defer ready.Close()
	b := make([]byte, 1)
	if n, _ := ready.Read(b); n != 1 {
		return errors.New("the jail's network did not come up (pasta failed; drd says why)")
	}
	return nil
}

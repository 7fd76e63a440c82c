package runcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/internal/inroot"
	"github.com/drd-linux/drd/internal/report"
)

// Stdio are the command's standard files; nil means /dev/null.
type Stdio struct {
	In, Out, Err *os.File
}

// Result of a command run in the jail.
type Result struct {
	Exit         int      // the command's exit status (128+n when killed by signal n)
	Signal       string   // the signal that killed it, if one did
	Leftovers    []Proc   // processes still running when the command ended: all ended by drd
	Killed       []int    // leftovers that ignored SIGTERM and got SIGKILL
	Escaped      []int    // processes still in the jail's cgroup after its init ended (killed)
	Placeholders []string // files created in the image as mount points; the caller removes them
	Elapsed      time.Duration
}

// Jail runs one Spec. Its zero value is the real machine.
type Jail struct {
	ProcDir string        // "/proc"
	Kill    time.Duration // after a cancel, how long the command gets before SIGKILL (default 10 s)
	Slirp   string        // slirp4netns's path, for a Spec with Slirp; "" finds it in PATH
	// SlirpReady: how long slirp4netns may take to configure the jail's
	// network while it runs (default SlirpReady). A slirp4netns that
	// exits fails the run at once.
	SlirpReady time.Duration
}

// SlirpReady is how long a running slirp4netns may take, by default, to
// configure the jail's network: 20 ms on a quiet host, but a user-mode
// stack started in a TCG guest at a load of 24 took more than 10 s
// (pasta, TestReleaseUpgrade), so the wait is long; only a slirp4netns
// that hangs reaches it.
const SlirpReady = 2 * time.Minute

func (j *Jail) defaults() {
	if j.ProcDir == "" {
		j.ProcDir = "/proc"
	}
	if j.Kill == 0 {
		j.Kill = 10 * time.Second
	}
	if j.SlirpReady == 0 {
		j.SlirpReady = SlirpReady
	}
}

// Prepare starts the jail's network for spec (its namespace, and
// slirp4netns on it) when spec asks for it, so that slirp4netns starts
// while the caller does the rest of its work; Run then starts the init in
// that namespace, and stops slirp4netns when the command is done. The
// caller closes spec.Network (Close waits for slirp4netns's end), whether
// it ran the spec or not.
func (j Jail) Prepare(spec *Spec, r report.Reporter) error {
	j.defaults()
	if !spec.Slirp || spec.Network != nil {
		return nil
	}
	routes := readRoutes(j.ProcDir)
	subnet, ok := netip.Prefix{}, routes.out
	if ok && spec.Subnet != "" {
		subnet, ok = parseSubnet(spec.Subnet, routes.used)
	} else if ok {
		subnet, ok = jailSubnet(routes.used)
	}
	if !ok {
		// A server with no IPv4 route out (or whose networks cover
		// every subnet drd would use) gets a jail with no network, as
		// -x network=false.
		spec.Slirp = false
		r.Note("the booted system has no IPv4 default route (or its routes cover every subnet of %v drd would give the jail): the runcmd environment has no network either (packages from -x depot= still install)", subnetPool)
		return nil
	}
	bin := j.Slirp
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("slirp4netns"); err != nil {
			return ErrNoSlirp
		}
	} else if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s: %w", bin, ErrNoSlirp)
	}
	n, err := newJailNet(slirpNet{bin: bin, subnet: subnet, dnsHost: spec.DNSHost})
	if err != nil {
		return err
	}
	spec.Network = n
	return nil
}

// parseSubnet is the subnet a plan chose (PlanInput.Subnet), if it is
// still one the booted system does not use.
func parseSubnet(s string, used []netip.Prefix) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, false
	}
	for _, u := range used {
		if u.Overlaps(p) {
			return p, false
		}
	}
	return p, true
}

// Run runs spec's command in a jail and waits for it and everything it
// started. A cancelled ctx sends the command SIGTERM, and SIGKILL to the
// whole jail after j.Kill; Run then returns ctx's error with the Result.
func (j Jail) Run(ctx context.Context, spec *Spec, stdio Stdio, r report.Reporter) (*Result, error) {
	j.defaults()
	start := time.Now()
	if spec.Network == nil {
		// A network Run prepares is Run's to close; the caller closes
		// one it prepared (and waits for slirp4netns's end meanwhile).
		if err := j.Prepare(spec, r); err != nil {
			return nil, err
		}
		defer spec.Network.Close()
	}
	if !spec.Net {
		r.Warn("-x network=host: the command shares the booted system's network namespace: its services on 127.0.0.1 and its abstract Unix sockets are reachable from package scripts")
	}
	relay, stdio, err := newRelay(stdio)
	if err != nil {
		return nil, err
	}
	if relay != nil {
		defer func() {
			if err := relay.stop(); err != nil {
				r.Warn("%v", err)
			}
		}()
	}
	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer specR.Close()
	defer specW.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer statusR.Close()
	defer statusW.Close()

	flags := unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP
	if spec.Net && spec.Network == nil {
		flags |= unix.CLONE_NEWNET // with only a loopback link
	}
	cmd := exec.Command("/proc/self/exe", InitArg)
	cmd.Args[0] = "drd"
	cmd.Env = []string{}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.In, stdio.Out, stdio.Err
	// fd 5: one byte once the jail's network is ready (slirp4netns), so
	// that the init builds the tree while slirp4netns starts; from fd 6 (firstHandedFD),
	// the file systems drd made for the jail (stage.go).
	netR, netW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer netR.Close()
	defer netW.Close()
	cmd.ExtraFiles = append([]*os.File{specR, statusW, netR}, spec.Files...)
	spec.Handed = len(spec.Files)
	// Setsid: the init, and so the command, never has the operator's
	// terminal as its controlling terminal (pty.go).
	attr := &unix.SysProcAttr{Cloneflags: uintptr(flags), Pdeathsig: unix.SIGKILL, Setsid: true}
	cg, err := newCgroup(j.ProcDir, fmt.Sprintf("drd-runcmd-%d", os.Getpid()))
	if err != nil {
		r.Note("running without a cgroup of its own (%v): the PID namespace still ends every process", err)
	} else {
		attr.UseCgroupFD, attr.CgroupFD = true, cg.fd
	}
	cmd.SysProcAttr = attr
	startInit := cmd.Start
	if spec.Network != nil {
		// The init starts in the namespace slirp4netns is connecting already.
		startInit = func() error { return inNetNS(spec.Network.ns, cmd.Start) }
	}
	if err := startInit(); err != nil {
		if cg != nil {
			cg.close()
		}
		return nil, fmt.Errorf("starting the jail: %w", err)
	}
	specR.Close()
	statusW.Close()
	netR.Close()
	if relay != nil {
		if err := relay.start(); err != nil {
			r.Warn("%v", err)
		}
	}
	// The init starts (the runtime, the binary paged in) while the
	// caller does its own work; it gets its plan only afterwards.
	var beforeErr error
	if spec.Before != nil {
		beforeErr = spec.Before()
	}
	if beforeErr != nil {
		cmd.Process.Kill()
	} else if err := json.NewEncoder(specW).Encode(spec); err != nil {
		cmd.Process.Kill()
	}
	// specW stays open: a byte on it asks the init to stop the command
	// (a signal would not do: the init ignores every signal, which its
	// own processes could send it too).
	// The init builds the tree meanwhile, and waits for the network
	// before it starts the command.
	var netErr error
	if spec.Network != nil && beforeErr == nil {
		if err := spec.Network.p.wait(j.SlirpReady); err != nil {
			netErr = err
			cmd.Process.Kill()
		} else {
			netW.Write([]byte{1})
		}
	}
	netW.Close()

	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
			specW.Write([]byte{'T'})
		case <-stop:
			return
		}
		select {
		case <-time.After(j.Kill):
			cmd.Process.Kill() // the kernel then kills the whole PID namespace
		case <-stop:
		}
	}()
	data, _ := io.ReadAll(statusR)
	// The command and its processes are done: slirp4netns's end starts now,
	// and Close waits for it.
	spec.Network.end()
	waitErr := cmd.Wait()
	var st initStatus
	res := &Result{Elapsed: time.Since(start)}
	decErr := json.Unmarshal(data, &st)
	if decErr == nil {
		res.Exit, res.Signal, res.Leftovers, res.Killed, res.Placeholders = st.Exit, st.Signal, st.Leftovers, st.Killed, st.Placeholders
	}
	if cg != nil {
		escaped, err := cg.close()
		res.Escaped = escaped
		if err != nil {
			r.Warn("%v", err)
		}
	}
	switch {
	case beforeErr != nil:
		return nil, beforeErr
	case netErr != nil:
		return res, netErr
	case ctx.Err() != nil:
		return res, ctx.Err()
	case decErr != nil:
		return res, fmt.Errorf("the jail's init ended without a word (%v)", waitErr)
	case st.Error != "":
		return res, errors.New(st.Error)
	}
	return res, nil
}

// RemovePlaceholders removes the empty files the jail created in the
// image at root as mount points, once the jail is gone.
func RemovePlaceholders(root string, files []string) error {
	var errs []error
	tr := inroot.Mounts(root) // never through a link the command left
	for _, f := range files {
		fi, err := tr.Lstat(f)
		switch {
		case err != nil:
		case fi.Mode().IsRegular() && fi.Size() == 0:
			if err := tr.Remove(f); err != nil {
				errs = append(errs, err)
			}
		case fi.IsDir():
			// The directories made for a depot's mount point: empty
			// once the jail is gone.
			if err := removeEmptyDirs(tr, f); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("removing drd's placeholder files in %s: %w", filepath.Clean(root), errors.Join(errs...))
	}
	return nil
}

// removeEmptyDirs removes dir and the directories below it, which must be
// empty but for directories.
func removeEmptyDirs(tr inroot.Tree, dir string) error {
	if fi, err := tr.Lstat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	ents, err := tr.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.IsDir() {
			return fmt.Errorf("%s is not empty", dir)
		}
		if err := removeEmptyDirs(tr, filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return tr.Remove(dir)
}

package runcmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The hidden first arguments under which drd runs as the jail's init and
// as the apt hook inside the jail. cmd/drd hands them to Main before it
// parses anything.
const (
	InitArg    = "__jail"
	InspectArg = "__inspect"
)

// The init's descriptors: 3 the plan (and drd's stop requests), 4 its
// status to drd, 5 the network's readiness, then the file systems drd
// made for the jail (stage.go), handed over open.
const firstHandedFD = 6

// Main runs the hidden entry points of the runcmd environment: it returns
// ok false when args name none of them.
func Main(args []string) (code int, ok bool) {
	if len(args) < 2 {
		return 0, false
	}
	switch args[1] {
	case InitArg:
		// The plan, drd's status pipe and the network's: none of them
		// may reach the command (a forged status would be drd's report).
		for fd := 3; fd < firstHandedFD; fd++ {
			unix.CloseOnExec(fd)
		}
		return initMain(os.NewFile(3, "spec"), os.NewFile(4, "status")), true
	case SlirpArg:
		return slirpMain(args[2:]), true
	case InspectArg:
		return inspectMain(hookInput(os.Getenv("APT_HOOK_INFO_FD")), os.Stderr, stagingDir, slices.Contains(args[2:], confHookArg)), true
	}
	return 0, false
}

// Proc is a process found in the jail.
type Proc struct {
	PID     int    `json:"pid"` // in the jail's PID namespace
	Name    string `json:"name"`
	Cmdline string `json:"cmdline"`
}

func (p Proc) String() string {
	if p.Cmdline == "" {
		return fmt.Sprintf("%d (%s)", p.PID, p.Name)
	}
	return fmt.Sprintf("%d (%s: %s)", p.PID, p.Name, p.Cmdline)
}

// initStatus is what the init reports to drd, as JSON, when it is done.
type initStatus struct {
	Error        string   `json:"error,omitempty"` // the jail could not be built or the command not started
	Exit         int      `json:"exit"`
	Signal       string   `json:"signal,omitempty"` // the command died of this signal
	Leftovers    []Proc   `json:"leftovers,omitempty"`
	Killed       []int    `json:"killed,omitempty"` // leftovers that needed SIGKILL
	Placeholders []string `json:"placeholders,omitempty"`
}

// initMain is PID 1 of the jail. It builds the tree, runs the command,
// then names and ends every process the command left.
func initMain(specFile, statusFile *os.File) int {
	var st initStatus
	defer func() {
		json.NewEncoder(statusFile).Encode(&st)
		statusFile.Close()
	}()
	// Every signal that can be caught is, before anything that waits: as
	// PID 1 of its namespace the init gets those its processes send it,
	// and Go's default for SIGQUIT, SIGABRT, SIGSEGV... is to die with a
	// stack dump, leaving the jail unended and unreported. drd asks it to
	// stop the command with a byte on the plan's pipe instead.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs)
	var spec Spec
	dec := json.NewDecoder(specFile)
	if err := dec.Decode(&spec); err != nil {
		st.Error = "reading the jail's plan: " + err.Error()
		return 1
	}
	// After the plan, drd's requests to stop the command come on the
	// same pipe.
	stopReq := make(chan struct{}, 1)
	go func() {
		r := io.MultiReader(dec.Buffered(), specFile)
		b := make([]byte, 1)
		for {
			n, err := r.Read(b)
			if n > 0 && strings.TrimSpace(string(b[:n])) != "" {
				select {
				case stopReq <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	var fds []*os.File
	for i := 0; i < spec.Handed; i++ {
		fds = append(fds, os.NewFile(uintptr(firstHandedFD+i), "handed"))
	}
	placeholders, err := buildTree(&spec, fds)
	for _, f := range fds {
		f.Close() // attached: the command gets no descriptor of them
	}
	st.Placeholders = placeholders
	if err != nil {
		st.Error = err.Error()
		return 1
	}
	prog, err := lookPath(spec.Argv[0], spec.Path)
	if err != nil {
		st.Error = err.Error()
		return 1
	}
	if spec.Slirp {
		if err := waitNetwork(os.NewFile(5, "network")); err != nil {
			st.Error = err.Error()
			return 1
		}
	}
	pid, err := startDropped(prog, spec.Argv, spec.Env, spec.Drop)
	if err != nil {
		st.Error = fmt.Sprintf("starting %s in the jail: %v", prog, err)
		return 1
	}
	exits := make(chan reaped, 16)
	go reap(exits)
	for done := false; !done; {
		select {
		case <-sigs:
			// From the jail's own processes (or the terminal, whose
			// SIGINT the command got too): ignored.
		case <-stopReq:
			unix.Kill(pid, unix.SIGTERM)
		case e := <-exits:
			if e.pid == pid {
				st.Exit, st.Signal = exitOf(e.status)
				done = true
			}
		}
	}
	st.Leftovers = listProcs("/proc")
	if len(st.Leftovers) > 0 {
		st.Killed = endAll(exits, time.Duration(spec.GraceMillis)*time.Millisecond)
	}
	return 0
}

type reaped struct {
	pid    int
	status unix.WaitStatus
}

// reap waits for every child and orphan of the jail.
func reap(out chan<- reaped) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			time.Sleep(10 * time.Millisecond) // no child right now
			continue
		}
		out <- reaped{pid, ws}
	}
}

func exitOf(ws unix.WaitStatus) (int, string) {
	if ws.Signaled() {
		return 128 + int(ws.Signal()), unix.SignalName(ws.Signal())
	}
	return ws.ExitStatus(), ""
}

// endAll sends SIGTERM to every process of the jail but the init, waits
// up to grace for them to go, then SIGKILLs the rest, whose PIDs it returns.
func endAll(exits <-chan reaped, grace time.Duration) []int {
	unix.Kill(-1, unix.SIGTERM)
	deadline := time.After(grace)
	for len(listProcs("/proc")) > 0 {
		select {
		case <-exits:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			var killed []int
			for _, p := range listProcs("/proc") {
				killed = append(killed, p.PID)
			}
			unix.Kill(-1, unix.SIGKILL)
			return killed
		}
	}
	return nil
}

// listProcs lists the live processes of the jail other than its init.
func listProcs(proc string) []Proc {
	ents, _ := os.ReadDir(proc)
	var ps []Proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == 1 {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(proc, e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) S ...: comm may hold blanks and parentheses.
		s := string(stat)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open || strings.HasPrefix(s[close+1:], " Z") {
			continue // a zombie is gone already
		}
		cmd, _ := os.ReadFile(filepath.Join(proc, e.Name(), "cmdline"))
		ps = append(ps, Proc{PID: pid, Name: s[open+1 : close], Cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))})
	}
	return ps
}

// startDropped starts the command with the capabilities of drop gone
// from its bounding, permitted, effective, inheritable and ambient sets,
// under the jail's seccomp filter (seccomp.go), in a session of its own
// (pty.go).
// Capabilities belong to a thread, so the drop and the fork happen on one
// locked thread, which is thrown away afterwards (the goroutine ends
// without unlocking it).
func startDropped(prog string, argv, env []string, drop []Cap) (int, error) {
	type result struct {
		pid int
		err error
	}
	ch := make(chan result, 1)
	filter, err := seccompFilter()
	if err != nil {
		return 0, err
	}
	go func() {
		runtime.LockOSThread()
		if err := dropCaps(drop); err != nil {
			ch <- result{0, err}
			return
		}
		if err := newSessionKeyring(); err != nil {
			ch <- result{0, err}
			return
		}
		if err := installSeccomp(filter); err != nil {
			ch <- result{0, err}
			return
		}
		pid, err := syscall.ForkExec(prog, argv, &syscall.ProcAttr{Dir: "/", Env: env, Files: []uintptr{0, 1, 2}, Sys: commandSession()})
		ch <- result{pid, err}
	}()
	r := <-ch
	return r.pid, r.err
}

func dropCaps(drop []Cap) error {
	for _, c := range drop {
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c.Num), 0, 0, 0)
		if err != nil && !errors.Is(err, unix.EINVAL) { // EINVAL: a capability this kernel lacks
			return fmt.Errorf("dropping %s from the bounding set: %w", c.Name, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clearing the ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("reading capabilities: %w", err)
	}
	for _, c := range drop {
		i, bit := c.Num/32, uint32(1)<<(c.Num%32)
		data[i].Effective &^= bit
		data[i].Permitted &^= bit
		data[i].Inheritable &^= bit
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("setting capabilities: %w", err)
	}
	return nil
}

// lookPath finds prog in the jail's PATH (the init's own environment is
// not the command's).
func lookPath(prog, path string) (string, error) {
	if strings.Contains(prog, "/") {
		return prog, nil
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, prog)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in the image (PATH %s): is the package that has it installed there?", prog, path)
}

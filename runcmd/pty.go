package runcmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// The command never holds the operator's terminal: an fd of it would
// let a script push keystrokes into the operator's shell (TIOCSTI), or
// change its modes. The jail's init and the command each start a session
// of their own, without drd's controlling terminal. When drd's standard
// input, output or error is a terminal, the command gets a new
// pseudo-terminal instead of it (the host's /dev/ptmx: only the
// secondary side goes into the jail), and drd relays: the operator's
// keystrokes in (the operator's terminal in raw mode, so Ctrl-C reaches
// the command as the pseudo-terminal's interrupt), the output out, the
// window size on SIGWINCH; the operator's terminal modes are restored at
// the end. apt-get prompts and dpkg's conffile questions work as usual.
// When none is a terminal, the command gets drd's files (pipes) as they are.

// commandSession is how the init starts the command: a session of its
// own, and the jail's pseudo-terminal, if its standard files are one, as
// the controlling terminal.
func commandSession() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setsid: true}
	for fd := 0; fd <= 2; fd++ {
		if term.IsTerminal(fd) {
			attr.Setctty, attr.Ctty = true, fd
			break
		}
	}
	return attr
}

// relay is the pseudo-terminal drd gives the command, and its copying.
type relay struct {
	ptm, pts *os.File // primary (drd's) and secondary (the jail's) sides
	in       *os.File // the operator's terminal drd reads keystrokes from, or nil
	out      *os.File // where the command's terminal output goes
	size     *os.File // the operator's terminal whose size the command's follows
	saved    *term.State
	wake     [2]int // a pipe that stops the input copy
	winch    chan os.Signal
	wg       sync.WaitGroup
	outDone  chan struct{}
	started  bool
}

// isTerminal tells whether f is a terminal.
func isTerminal(f *os.File) bool {
	return f != nil && term.IsTerminal(int(f.Fd()))
}

// newRelay gives the jail a pseudo-terminal in place of each of stdio's
// files that is a terminal. It returns stdio unchanged and a nil relay
// when none is.
func newRelay(stdio Stdio) (*relay, Stdio, error) {
	ttyIn, ttyOut, ttyErr := isTerminal(stdio.In), isTerminal(stdio.Out), isTerminal(stdio.Err)
	if !ttyIn && !ttyOut && !ttyErr {
		return nil, stdio, nil
	}
	ptm, pts, err := openPTY()
	if err != nil {
		return nil, stdio, fmt.Errorf("making the command's pseudo-terminal (drd gives it one in place of the operator's terminal): %w", err)
	}
	r := &relay{ptm: ptm, pts: pts, outDone: make(chan struct{})}
	jail := stdio
	if ttyIn {
		r.in, r.size, jail.In = stdio.In, stdio.In, pts
	}
	if ttyOut {
		r.out, jail.Out = stdio.Out, pts
		if r.size == nil {
			r.size = stdio.Out
		}
	}
	if ttyErr {
		jail.Err = pts
		if r.out == nil {
			r.out = stdio.Err
		}
		if r.size == nil {
			r.size = stdio.Err
		}
	}
	if r.out == nil {
		r.out = stdio.In // only the input is a terminal: the echo goes back to it
	}
	r.resize()
	// Ctrl-Z would stop the command with nobody to continue it: the
	// command's terminal has no suspend character.
	if t, err := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS); err == nil {
		t.Cc[unix.VSUSP] = 0
		unix.IoctlSetTermios(int(pts.Fd()), unix.TCSETS, t)
	}
	return r, jail, nil
}

// openPTY opens a new pseudo-terminal pair of the host's devpts, the
// secondary side through TIOCGPTPEER (no path to look up).
func openPTY() (ptm, pts *os.File, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("unlocking the pseudo-terminal: %w", err)
	}
	sfd, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if e != 0 {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("opening the pseudo-terminal's secondary side: %w", e)
	}
	if err := unix.SetNonblock(fd, true); err != nil { // read through Go's poller: Close ends a read
		unix.Close(fd)
		unix.Close(int(sfd))
		return nil, nil, err
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), os.NewFile(sfd, "pts"), nil
}

// start begins relaying, once the jail holds the secondary side: drd's
// copy is closed, so that the output ends when the jail's last process
// does.
func (r *relay) start() error {
	r.started = true
	r.pts.Close()
	go func() {
		defer close(r.outDone)
		io.Copy(r.out, r.ptm) // ends with EIO when no process holds the secondary side
	}()
	r.winch = make(chan os.Signal, 1)
	signal.Notify(r.winch, unix.SIGWINCH)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for range r.winch {
			r.resize()
		}
	}()
	if r.in == nil {
		return nil
	}
	saved, err := term.MakeRaw(int(r.in.Fd()))
	if err != nil {
		return fmt.Errorf("putting the terminal in raw mode to relay it: %w", err)
	}
	r.saved = saved
	if err := unix.Pipe2(r.wake[:], unix.O_CLOEXEC); err != nil {
		return err
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.copyIn()
	}()
	return nil
}

// copyIn copies the operator's keystrokes to the command's terminal
// until stop wakes it.
func (r *relay) copyIn() {
	buf := make([]byte, 4096)
	in := int(r.in.Fd())
	for {
		fds := []unix.PollFd{{Fd: int32(in), Events: unix.POLLIN}, {Fd: int32(r.wake[0]), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		if fds[1].Revents != 0 {
			return
		}
		if fds[0].Revents&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) == 0 {
			continue
		}
		n, err := unix.Read(in, buf)
		if n <= 0 || err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
				continue
			}
			return
		}
		if _, err := r.ptm.Write(buf[:n]); err != nil {
			return
		}
	}
}

// resize gives the command's terminal the operator's window size.
func (r *relay) resize() {
	if r.size == nil {
		return
	}
	ws, err := unix.IoctlGetWinsize(int(r.size.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return
	}
	if c, err := r.ptm.SyscallConn(); err == nil {
		c.Control(func(fd uintptr) { unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, ws) })
	}
}

// stop ends the relay once the jail is gone: the rest of the output is
// copied, and the operator's terminal gets its modes back.
func (r *relay) stop() error {
	if !r.started { // the jail did not start
		r.pts.Close()
		return r.ptm.Close()
	}
	select {
	case <-r.outDone:
	case <-time.After(2 * time.Second): // a process kept the terminal: it is being killed
	}
	r.ptm.Close()
	if r.winch != nil {
		signal.Stop(r.winch)
		close(r.winch)
	}
	if r.wake[1] != 0 {
		unix.Write(r.wake[1], []byte{0})
	}
	r.wg.Wait()
	if r.wake[0] != 0 {
		unix.Close(r.wake[0])
		unix.Close(r.wake[1])
	}
	if r.saved != nil {
		if err := term.Restore(int(r.in.Fd()), r.saved); err != nil {
			return fmt.Errorf("restoring the terminal's modes (run stty sane): %w", err)
		}
	}
	return nil
}

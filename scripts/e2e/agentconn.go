package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/drd-linux/drd/scripts/e2e/wire"
)

// Result of a command run in the guest.
type Result struct {
	Stdout, Stderr string
	Code           int
	Duration       time.Duration
}

// errRebooted is returned for a command that was running when the guest
// rebooted (a new agent said hello).
var errRebooted = errors.New("the guest rebooted while the command ran")

type pendingRun struct {
	stdout, stderr bytes.Buffer
	exit           chan wire.Msg
}

// agentConn is the host end of the agent's virtio-serial port.
type agentConn struct {
	w          io.Writer
	transcript *os.File
	wmu        sync.Mutex
	mu         sync.Mutex
	next       uint64
	pending    map[uint64]*pendingRun
	hello      chan string   // boot IDs of agents that said hello
	closed     chan struct{} // the port closed: the VM stopped
}

func newAgentConn(rw io.ReadWriter, transcriptPath string) (*agentConn, error) {
	f, err := os.OpenFile(transcriptPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the command transcript: %w", err)
	}
	a := &agentConn{w: rw, transcript: f, pending: map[uint64]*pendingRun{},
		hello: make(chan string, 16), closed: make(chan struct{})}
	go a.read(rw)
	return a, nil
}

func (a *agentConn) logf(format string, args ...any) {
	fmt.Fprintf(a.transcript, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

func (a *agentConn) read(r io.Reader) {
	defer close(a.closed)
	wr := wire.NewReader(r)
	wr.Junk = func(line []byte) { a.logf("(skipped %d bytes that are no message)", len(line)) }
	for {
		m, err := wr.Next()
		if err != nil {
			a.logf("(agent port closed: %v)", err)
			return
		}
		a.mu.Lock()
		p := a.pending[m.ID]
		switch m.T {
		case wire.Hello:
			a.logf("agent hello, boot %s", m.BootID)
			for id, p := range a.pending {
				p.exit <- wire.Msg{T: wire.Exit, ID: id, Code: -1, Error: errRebooted.Error()}
				delete(a.pending, id)
			}
			select {
			case a.hello <- m.BootID:
			default:
			}
		case wire.Out, wire.Err:
			if p != nil {
				if m.T == wire.Out {
					p.stdout.Write(m.Data)
				} else {
					p.stderr.Write(m.Data)
				}
			}
			a.transcript.Write(m.Data)
		case wire.Exit:
			if p != nil {
				delete(a.pending, m.ID)
				p.exit <- m
			}
		}
		a.mu.Unlock()
	}
}

func (a *agentConn) send(m wire.Msg) error {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	return wire.Write(a.w, m)
}

// start sends cmd to the agent and returns its run.
func (a *agentConn) start(cmd string) (uint64, *pendingRun, error) {
	a.mu.Lock()
	a.next++
	id := a.next
	p := &pendingRun{exit: make(chan wire.Msg, 1)}
	a.pending[id] = p
	a.mu.Unlock()
	a.logf("$ %s", cmd)
	if err := a.send(wire.Msg{T: wire.Run, ID: id, Cmd: cmd}); err != nil {
		return 0, nil, fmt.Errorf("sending %q to the agent: %w", cmd, err)
	}
	return id, p, nil
}

// run runs cmd in the guest and waits for it to end.
func (a *agentConn) run(ctx context.Context, cmd string) (Result, error) {
	t0 := time.Now()
	id, p, err := a.start(cmd)
	if err != nil {
		return Result{}, err
	}
	result := func(m wire.Msg) Result {
		a.mu.Lock()
		defer a.mu.Unlock()
		return Result{Stdout: p.stdout.String(), Stderr: p.stderr.String(), Code: m.Code, Duration: time.Since(t0)}
	}
	select {
	case m := <-p.exit:
		r := result(m)
		a.logf("[exit %d after %.1fs]", r.Code, r.Duration.Seconds())
		if m.Error == errRebooted.Error() {
			return r, errRebooted
		}
		if m.Code < 0 {
			return r, fmt.Errorf("the agent could not start the command: %s", m.Error)
		}
		return r, nil
	case <-ctx.Done():
		a.send(wire.Msg{T: wire.Kill, ID: id})
		a.logf("[killed after %.1fs: %v]", time.Since(t0).Seconds(), ctx.Err())
		r := result(wire.Msg{Code: -1})
		return r, ctx.Err()
	case <-a.closed:
		return result(wire.Msg{Code: -1}), errors.New("the VM stopped while the command ran")
	}
}

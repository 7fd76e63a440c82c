package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// qemuProc is a running QEMU with its console and agent connected.
type qemuProc struct {
	m       machine
	cmd     *exec.Cmd
	done    chan struct{} // closed when QEMU exited
	err     error         // QEMU's exit, valid after done
	console *console
	agent   *agentConn // nil without an agent port
	sock    string     // directory of the sockets
}

// startQEMU starts m, with logs (qemu.log, console.log, commands.log) in
// logDir. Sockets live in a short temporary directory: unix socket paths
// are limited to 108 bytes.
func startQEMU(ctx context.Context, m machine, logDir string, withAgent bool) (*qemuProc, error) {
	sock, err := os.MkdirTemp("", "drdvm")
	if err != nil {
		return nil, err
	}
	m.Serial, m.QMP = filepath.Join(sock, "serial"), filepath.Join(sock, "qmp")
	if withAgent {
		m.Agent = filepath.Join(sock, "agent")
	}
	args := qemuArgs(m)
	qlog, err := os.Create(filepath.Join(logDir, "qemu.log"))
	if err != nil {
		os.RemoveAll(sock)
		return nil, err
	}
	fmt.Fprintf(qlog, "qemu-system-x86_64 %s\n\n", strings.Join(args, " "))
	cmd := exec.Command("qemu-system-x86_64", args...)
	cmd.Stdout, cmd.Stderr = qlog, qlog
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		qlog.Close()
		os.RemoveAll(sock)
		return nil, fmt.Errorf("starting QEMU: %w", err)
	}
	p := &qemuProc{m: m, cmd: cmd, done: make(chan struct{}), sock: sock}
	go func() {
		p.err = cmd.Wait()
		qlog.Close()
		close(p.done)
	}()
	fail := func(err error) (*qemuProc, error) {
		p.kill()
		b, _ := os.ReadFile(filepath.Join(logDir, "qemu.log"))
		return nil, fmt.Errorf("%w\nqemu.log:\n%s", err, lastLines(string(b), 20))
	}
	ser, err := p.dial(ctx, m.Serial)
	if err != nil {
		return fail(fmt.Errorf("connecting to the serial console of %s: %w", m.Name, err))
	}
	if p.console, err = newConsole(ser, ser, filepath.Join(logDir, "console.log")); err != nil {
		return fail(err)
	}
	if withAgent {
		ag, err := p.dial(ctx, m.Agent)
		if err != nil {
			return fail(fmt.Errorf("connecting to the agent port of %s: %w", m.Name, err))
		}
		if p.agent, err = newAgentConn(ag, filepath.Join(logDir, "commands.log")); err != nil {
			return fail(err)
		}
	}
	return p, nil
}

// dial connects to a socket QEMU is about to create.
func (p *qemuProc) dial(ctx context.Context, path string) (net.Conn, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("unix", path)
		if err == nil {
			return c, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("QEMU exited: %v", p.err)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no socket %s after 30 s: %w", path, err)
		}
	}
}

// wait waits for QEMU to exit.
func (p *qemuProc) wait(ctx context.Context) error {
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *qemuProc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill stops QEMU at once and removes its sockets.
func (p *qemuProc) kill() {
	if p.running() {
		qmp(p.m.QMP, "quit")
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
	os.RemoveAll(p.sock)
}

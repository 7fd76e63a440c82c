// Command agent runs inside an e2e guest and runs the harness's commands.
//
// It reads wire messages from a virtio-serial port, runs each command with
// /bin/sh -c in its own process group, streams standard output and standard
// error back as they come, and reports the exit code. It sends a hello with
// the kernel's boot ID when it starts, which is how the harness knows that a
// boot has finished. It is built on the host and started by the
// drd-e2e-agent unit of the guest image from the tools disk.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/drd-linux/drd/scripts/e2e/wire"
)

func main() {
	port := flag.String("port", "/dev/virtio-ports/drd.agent", "virtio-serial port to the harness")
	flag.Parse()
	log.SetPrefix("drd-e2e-agent: ")
	log.SetFlags(0)
	if err := serve(*port); err != nil {
		log.Fatal(err)
	}
}

// agent is one session on the port.
type agent struct {
	wmu   sync.Mutex
	w     io.Writer
	mu    sync.Mutex
	procs map[uint64]*os.Process
}

func (a *agent) send(m wire.Msg) {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	if err := wire.Write(a.w, m); err != nil {
		log.Printf("writing %s message for run %d: %v", m.T, m.ID, err)
	}
}

func serve(port string) error {
	f, err := openPort(port)
	if err != nil {
		return err
	}
	a := &agent{w: f, procs: map[uint64]*os.Process{}}
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	// The empty line ends whatever a previous boot left half written.
	a.wmu.Lock()
	f.Write([]byte("\n"))
	a.wmu.Unlock()
	a.send(wire.Msg{T: wire.Hello, BootID: strings.TrimSpace(string(boot))})
	r := wire.NewReader(f)
	r.Junk = func(line []byte) { log.Printf("skipping a line that is no message: %.80q", line) }
	for {
		m, err := r.Next()
		if err != nil {
			// The host end is not connected: wait for it.
			if errors.Is(err, io.EOF) {
				time.Sleep(200 * time.Millisecond)
				r = wire.NewReader(f)
				r.Junk = func(line []byte) { log.Printf("skipping a line that is no message: %.80q", line) }
				continue
			}
			return fmt.Errorf("reading %s: %w", port, err)
		}
		switch m.T {
		case wire.Run:
			go a.run(m.ID, m.Cmd)
		case wire.Kill:
			a.mu.Lock()
			p := a.procs[m.ID]
			a.mu.Unlock()
			if p != nil {
				syscall.Kill(-p.Pid, syscall.SIGKILL)
			}
		default:
			log.Printf("ignoring a %q message", m.T)
		}
	}
}

func openPort(port string) (*os.File, error) {
	var err error
	for range 300 {
		var f *os.File
		if f, err = os.OpenFile(port, os.O_RDWR, 0); err == nil {
			return f, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("opening the harness port: %w (is the VM started with a virtserialport named drd.agent?)", err)
}

// chunkWriter sends what a command writes as messages of type t.
type chunkWriter struct {
	a  *agent
	t  string
	id uint64
}

func (c chunkWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		n := min(len(p), 32<<10)
		c.a.send(wire.Msg{T: c.t, ID: c.id, Data: append([]byte(nil), p[:n]...)})
		p = p[n:]
	}
	return total, nil
}

func (a *agent) run(id uint64, script string) {
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root", "LC_ALL=C.UTF-8", "TERM=dumb", "USER=root", "LOGNAME=root",
	}
	cmd.Dir = "/root"
	cmd.Stdout = chunkWriter{a, wire.Out, id}
	cmd.Stderr = chunkWriter{a, wire.Err, id}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		a.send(wire.Msg{T: wire.Exit, ID: id, Code: -1, Error: err.Error()})
		return
	}
	a.mu.Lock()
	a.procs[id] = cmd.Process
	a.mu.Unlock()
	err := cmd.Wait()
	a.mu.Lock()
	delete(a.procs, id)
	a.mu.Unlock()
	m := wire.Msg{T: wire.Exit, ID: id, Code: cmd.ProcessState.ExitCode()}
	if st, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && st.Signaled() {
		m.Code = 128 + int(st.Signal())
		m.Error = "killed by " + st.Signal().String()
	} else if err != nil && m.Code == 0 {
		m.Error = err.Error()
	}
	a.send(m)
}

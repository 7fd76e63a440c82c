package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Options of a VM. The zero value is a VM with drd installed and one empty
// target disk as large as the system disk.
type Options struct {
	Name           string        // name in logs; default: the layout's name
	NoDRD          bool          // do not build and install drd (harness self-tests)
	Debs           []Deb         // built on the host, copied to /run/drd-e2e/debs at every boot
	Disks          []Extra       // extra empty disks; nil: one target disk (TargetSerial)
	MemMiB         int           // default 1024
	BootTimeout    time.Duration // from start or reboot to a running system; default 300 s
	CommandTimeout time.Duration // default for Run; default 10 min
	Network        bool          // a NIC on QEMU's user network: the guest reaches the mirror (and the host's 10.0.2.2)
	SSH            bool          // with Network: a host port forwards to the guest's sshd (VM.SSHPort)
}

// Extra is an empty raw disk attached to a VM.
type Extra struct {
	Serial string
	Size   int64 // 0: the size of the layout's system disk
}

// VM is a running (or stopped) guest of one scenario.
type VM struct {
	t      testing.TB
	Name   string
	Layout Layout
	LogDir string
	opts   Options
	dir    string            // work directory: overlays, disks, tools
	disks  map[string]string // serial → host file
	m      machine
	p      *qemuProc
	bootID string
	boots  int
}

// Boot builds (or takes from the cache) l's images, starts a VM on overlays
// of them and waits until its system is up and the agent answers. It fails
// t on any error, and stops the VM when t ends.
func Boot(t testing.TB, l Layout, opts Options) *VM {
	t.Helper()
	Require(t)
	vm, err := start(t, l, opts)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

func start(t testing.TB, l Layout, opts Options) (*VM, error) {
	ctx := context.Background()
	if opts.Name == "" {
		opts.Name = l.Name
	}
	if opts.MemMiB == 0 {
		opts.MemMiB = 1024
	}
	if opts.BootTimeout == 0 {
		opts.BootTimeout = 300 * time.Second
	}
	if opts.CommandTimeout == 0 {
		opts.CommandTimeout = 10 * time.Minute
	}
	if opts.Disks == nil {
		opts.Disks = []Extra{{Serial: TargetSerial}}
	}
	ph := PhasesFor(t)
	vm := &VM{t: t, Name: opts.Name, Layout: l, opts: opts, dir: t.TempDir(), disks: map[string]string{}}
	vm.LogDir = logDirFor(t, opts.Name)
	t.Logf("VM %s: logs in %s", vm.Name, vm.LogDir)

	var img Images
	var hit bool
	var err error
	ph.Time("build images "+l.Name, func() { img, hit, err = EnsureImages(ctx, l, t.Logf) })
	if err != nil {
		return nil, err
	}
	t.Logf("VM %s: images %s (from cache: %v)", vm.Name, img.Dir, hit)
	var tools string
	ph.Time("build tools", func() { tools, err = toolsDisk(ctx, vm.dir, opts, t.Logf) })
	if err != nil {
		return nil, err
	}
	vm.m = machine{Name: "drd-e2e-" + vm.Name, Firmware: l.Firmware, MemMiB: opts.MemMiB, CPUs: cpus(), Network: opts.Network}
	if opts.Network && opts.SSH {
		if vm.m.SSHPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	for i, d := range l.Disks {
		ov := filepath.Join(vm.dir, d.Serial+".qcow2")
		if _, err := run(ctx, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", img.Disks[d.Serial], ov); err != nil {
			return nil, err
		}
		vm.disks[d.Serial] = ov
		vm.m.Drives = append(vm.m.Drives, drive{File: ov, Format: "qcow2", Serial: d.Serial, Boot: i == 0})
	}
	for _, e := range opts.Disks {
		size := e.Size
		if size == 0 {
			size = l.Disks[0].Size
		}
		f := filepath.Join(vm.dir, e.Serial+".raw")
		if err := makeSparse(f, size); err != nil {
			return nil, err
		}
		vm.disks[e.Serial] = f
		vm.m.Drives = append(vm.m.Drives, drive{File: f, Format: "raw", Serial: e.Serial})
	}
	vm.m.Drives = append(vm.m.Drives, drive{File: tools, Format: "raw", Serial: ToolsSerial, ReadOnly: true})
	if l.Firmware == UEFI {
		vm.m.Vars = filepath.Join(vm.dir, "efivars.fd")
		if _, err := run(ctx, "cp", img.Vars, vm.m.Vars); err != nil {
			return nil, err
		}
	}
	t.Cleanup(vm.cleanup)
	ph.Time("boot "+vm.Name, func() {
		if vm.p, err = startQEMU(ctx, vm.m, vm.LogDir, true); err != nil {
			return
		}
		err = vm.waitBoot("")
	})
	return vm, err
}

func (vm *VM) cleanup() {
	if vm.p != nil {
		vm.p.kill()
	}
	if vm.t.Failed() {
		vm.t.Logf("VM %s: logs kept in %s", vm.Name, vm.LogDir)
	}
}

// logDirFor makes the log directory of VM name in test t. The directory of
// the test is removed when the test passes, unless DRD_E2E_KEEP=1.
func logDirFor(t testing.TB, name string) string {
	testDir := filepath.Join(LogRoot(), strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	if _, loaded := logDirs.LoadOrStore(t, testDir); !loaded {
		os.RemoveAll(testDir)
		t.Cleanup(func() {
			if !t.Failed() && os.Getenv(EnvKeep) != "1" {
				os.RemoveAll(testDir)
			}
		})
	}
	dir := filepath.Join(testDir, name)
	for i := 2; ; i++ {
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			break
		}
		dir = filepath.Join(testDir, fmt.Sprintf("%s-%d", name, i))
	}
	os.MkdirAll(dir, 0o755)
	return dir
}

// failure makes an error that says what failed and shows the end of the
// console.
func (vm *VM) failure(format string, args ...any) error {
	return fmt.Errorf("VM %s: %s; last 40 lines of console (%s):\n%s", vm.Name, fmt.Sprintf(format, args...),
		filepath.Join(vm.LogDir, "console.log"), vm.p.console.Tail(40))
}

// diagnose asks the root shell on the serial console why the agent is not
// there, for the error message of a failed boot.
func (vm *VM) diagnose() string {
	vm.p.console.Skip()
	vm.p.console.Send("\nsystemctl --no-pager status drd-e2e-agent 2>&1 | tail -n 15; echo DRD-E2E-DIAG-$((40+2))\n")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := vm.p.console.Wait(ctx, regexp.MustCompile(`(?s)(.*)DRD-E2E-DIAG-42`))
	if err != nil {
		return "; the root shell on the console did not answer either"
	}
	return "; the agent's status from the console:\n" + ansi.ReplaceAllString(m[1], "")
}

// waitBoot waits for an agent hello from a boot other than prev, then for
// systemd to finish starting up, and sets the guest up for the harness.
func (vm *VM) waitBoot(prev string) error {
	ctx, cancel := context.WithTimeout(context.Background(), vm.opts.BootTimeout)
	defer cancel()
	t0 := time.Now()
	for {
		select {
		case id := <-vm.p.agent.hello:
			if id == prev {
				continue
			}
			vm.bootID = id
			vm.boots++
		case <-ctx.Done():
			return vm.failure("no agent hello %.0f s after the boot started (boot stuck, or the agent unit failed)%s",
				vm.opts.BootTimeout.Seconds(), vm.diagnose())
		case <-vm.p.done:
			return vm.failure("QEMU exited during the boot: %v", vm.p.err)
		}
		break
	}
	r, err := vm.p.agent.run(ctx, "systemctl is-system-running --wait")
	if err != nil {
		return vm.failure("waiting for systemd to finish the start-up: %v", err)
	}
	if s := strings.TrimSpace(r.Stdout); s != "running" {
		failed, _ := vm.p.agent.run(ctx, "systemctl --failed --no-legend")
		vm.t.Logf("VM %s: system is %s after boot %d; failed units:\n%s", vm.Name, s, vm.boots, failed.Stdout)
	}
	vm.t.Logf("VM %s: boot %d up after %.1fs", vm.Name, vm.boots, time.Since(t0).Seconds())
	setup := `set -e
mkdir -p /run/drd-e2e/tools /run/drd-e2e/debs
mountpoint -q /run/drd-e2e/tools || mount -t squashfs -o ro /dev/disk/by-id/virtio-` + ToolsSerial + ` /run/drd-e2e/tools
if [ -d /run/drd-e2e/tools/debs ]; then cp /run/drd-e2e/tools/debs/*.deb /run/drd-e2e/debs/ 2>/dev/null || true; fi
`
	if vm.boots == 1 {
		if !vm.opts.NoDRD {
			// drd as users get it: its package (/usr/sbin/drd, the ISL
			// initramfs, the boot-check unit enabled for the next boots).
			setup += "dpkg -i /run/drd-e2e/tools/" + DrdDeb + "\n"
		}
		var install []string
		for _, d := range vm.opts.Debs {
			if d.Install {
				install = append(install, "/run/drd-e2e/debs/"+d.fileName())
			}
		}
		if len(install) > 0 {
			setup += "dpkg -i " + strings.Join(install, " ") + "\n"
		}
	}
	setup += "umount /run/drd-e2e/tools\n"
	if r, err := vm.p.agent.run(ctx, setup); err != nil || r.Code != 0 {
		return vm.failure("setting up boot %d (drd, .debs): exit %d, %v\n%s%s", vm.boots, r.Code, err, r.Stdout, r.Stderr)
	}
	return nil
}

// Exec runs cmd with /bin/sh -c in the guest, as root, and returns what it
// printed and its exit code. The error is about running it at all: a
// timeout, a reboot, a VM that stopped.
func (vm *VM) Exec(ctx context.Context, cmd string) (Result, error) {
	if vm.p == nil || !vm.p.running() {
		return Result{}, fmt.Errorf("VM %s: not running, cannot run %q", vm.Name, cmd)
	}
	r, err := vm.p.agent.run(ctx, cmd)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return r, vm.failure("%q did not end in time (killed); it printed:\n%s%s", cmd, lastLines(r.Stdout, 20), lastLines(r.Stderr, 20))
		}
		return r, vm.failure("running %q: %v", cmd, err)
	}
	return r, nil
}

// Run runs cmd in the guest with the VM's command timeout and returns its
// result, whatever its exit code. It fails the test if cmd could not run.
func (vm *VM) Run(cmd string) Result {
	vm.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), vm.opts.CommandTimeout)
	defer cancel()
	r, err := vm.Exec(ctx, cmd)
	if err != nil {
		vm.t.Fatal(err)
	}
	vm.t.Logf("VM %s: %s: exit %d after %.1fs", vm.Name, firstLine(cmd), r.Code, r.Duration.Seconds())
	return r
}

// MustRun runs cmd and fails the test unless it exits 0; it returns its
// standard output.
func (vm *VM) MustRun(cmd string) string {
	vm.t.Helper()
	r := vm.Run(cmd)
	if r.Code != 0 {
		vm.t.Fatalf("VM %s: %q exited %d\nstdout:\n%s\nstderr:\n%s", vm.Name, cmd, r.Code, lastLines(r.Stdout, 60), lastLines(r.Stderr, 60))
	}
	return r.Stdout
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

// Reboot reboots the guest cleanly (systemctl reboot) and waits until the
// new boot is up.
func (vm *VM) Reboot() {
	vm.t.Helper()
	if err := vm.reboot(func() error {
		_, _, err := vm.p.agent.start("systemctl reboot")
		return err
	}); err != nil {
		vm.t.Fatal(err)
	}
}

// Reset presses the reset button (no clean shutdown) and waits until the
// new boot is up.
func (vm *VM) Reset() {
	vm.t.Helper()
	if err := vm.reboot(func() error { return qmp(vm.p.m.QMP, "system_reset") }); err != nil {
		vm.t.Fatal(err)
	}
}

func (vm *VM) reboot(how func() error) error {
	var err error
	PhasesFor(vm.t).Time("reboot "+vm.Name, func() {
		vm.p.console.Skip()
		if err = how(); err != nil {
			err = fmt.Errorf("VM %s: rebooting: %w", vm.Name, err)
			return
		}
		err = vm.waitBoot(vm.bootID)
	})
	return err
}

// Shutdown powers the guest off cleanly and waits for QEMU to exit; then
// its disks can be examined on the host.
func (vm *VM) Shutdown() {
	vm.t.Helper()
	var err error
	PhasesFor(vm.t).Time("shutdown "+vm.Name, func() {
		if _, _, err = vm.p.agent.start("systemctl poweroff"); err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		if vm.p.wait(ctx) != nil {
			err = vm.failure("QEMU still running 120 s after systemctl poweroff")
		}
	})
	if err != nil {
		vm.t.Fatal(err)
	}
}

// Wait waits up to timeout for the console to show a match of the regular
// expression pattern after the previous match, and returns the match and
// its submatches.
func (vm *VM) Wait(pattern string, timeout time.Duration) []string {
	vm.t.Helper()
	re := regexp.MustCompile(pattern)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	m, err := vm.p.console.Wait(ctx, re)
	if err != nil {
		vm.t.Fatal(vm.failure("waiting %.0f s for %q on the console: %v", timeout.Seconds(), pattern, err))
	}
	return m
}

// Send types s on the serial console.
func (vm *VM) Send(s string) {
	vm.t.Helper()
	if err := vm.p.console.Send(s); err != nil {
		vm.t.Fatalf("VM %s: typing on the console: %v", vm.Name, err)
	}
}

// Disk returns the host file of the disk with the given serial: a qcow2
// overlay for the layout's disks, a raw file for the extra disks.
func (vm *VM) Disk(serial string) string { return vm.disks[serial] }

// Running reports whether QEMU still runs.
func (vm *VM) Running() bool { return vm.p != nil && vm.p.running() }

// BootID is the kernel's boot ID of the current boot.
func (vm *VM) BootID() string { return vm.bootID }

// SSHPort is the port on the host's 127.0.0.1 that reaches the guest's
// sshd (Options.SSH), 0 without one.
func (vm *VM) SSHPort() int { return vm.m.SSHPort }

// forgetHellos drops the agent's hellos not read yet, so that the next
// one is of a boot started after.
func (vm *VM) forgetHellos() {
	for len(vm.p.agent.hello) > 0 {
		<-vm.p.agent.hello
	}
}

// waitSoftBoot waits for the agent of the user space a soft reboot
// started (its hello carries the same boot id, so waitBoot's test for a
// new boot does not apply) and for its start-up to finish (the boot check
// holds drd's lock until then); it returns systemd's state.
func (vm *VM) waitSoftBoot(ctx context.Context) (string, error) {
	select {
	case <-vm.p.agent.hello:
	case <-ctx.Done():
		return "", fmt.Errorf("no agent after the soft reboot: %s", vm.p.console.Tail(30))
	}
	r, err := vm.p.agent.run(ctx, "systemctl is-system-running --wait")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(r.Stdout), nil
}

// SSHAnswers reports whether an SSH server answers on the guest's port with
// its banner (QEMU's port forward accepts a connection even when nothing
// listens in the guest, and closes it at once).
func (vm *VM) SSHAnswers() bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", vm.SSHPort()), 2*time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	return strings.HasPrefix(string(buf[:n]), "SSH-")
}

// freePort is a TCP port on 127.0.0.1 that nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port for the guest's ssh: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

package isl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/report"
)

// LogLines is how many lines of drd.log the log command shows.
const LogLines = 40

// Kexec loads a kernel and starts it: the one side effect of boot.
type Kexec interface {
	Load(kernel, initrd *os.File, cmdline string) error
	Exec() error
}

// Machine is the real System: the disks of this machine, through
// bootenv's rescue mode.
type Machine struct {
	Env       bootenv.Machine
	Kexec     Kexec
	ShellArgv []string // the shell's argv: gosh in the initramfs
	Out       io.Writer
	In        io.Reader
}

// Scan finds the images on every disk.
func (m Machine) Scan(ctx context.Context) (*bootenv.Status, error) {
	return m.Env.RescueScan(ctx)
}

// Set makes image the boot target with bootenv.SetTarget.
func (m Machine) Set(ctx context.Context, image string) error {
	st, err := m.Env.RescueScan(ctx)
	if err != nil {
		return fmt.Errorf("scanning the disks: %w", err)
	}
	return m.Env.SetTarget(ctx, st, image, false, report.Func(func(format string, args ...any) {
		fmt.Fprintf(m.Out, format+"\n", args...)
	}))
}

// Boot loads image's kernel, initramfs and command line and starts it.
func (m Machine) Boot(ctx context.Context, image string) error {
	img, err := m.find(ctx, image)
	if err != nil {
		return err
	}
	bf, release, err := m.Env.OpenBootFiles(img)
	if err != nil {
		return err
	}
	if err := m.load(image, bf); err != nil {
		return errors.Join(err, release())
	}
	// The kernel is loaded and its files closed: the /boot they came
	// from is unmounted before the jump. It is mounted read-only, so one
	// that stays mounted (busy) loses nothing: say so and boot.
	if err := release(); err != nil {
		fmt.Fprintf(m.Out, "warning: %v\n", err)
	}
	unix.Sync()
	return m.Kexec.Exec()
}

// load opens bf's kernel and initramfs, hands them to kexec and closes
// them.
func (m Machine) load(image string, bf bootenv.BootFiles) error {
	kernel, err := os.Open(bf.Kernel)
	if err != nil {
		return err
	}
	defer kernel.Close()
	var initrd *os.File
	if bf.Initrd != "" {
		if initrd, err = os.Open(bf.Initrd); err != nil {
			return err
		}
		defer initrd.Close()
	}
	fmt.Fprintf(m.Out, "kernel %s\ninitrd %s\ncommand line %s\n", bf.Kernel, bf.Initrd, bf.Cmdline)
	if err := m.Kexec.Load(kernel, initrd, bf.Cmdline); err != nil {
		return fmt.Errorf("loading the kernel of %s: %w", image, err)
	}
	return nil
}

// Log is the end of image's /var/opt/drd/drd.log.
func (m Machine) Log(ctx context.Context, image string) (string, error) {
	img, err := m.find(ctx, image)
	if err != nil {
		return "", err
	}
	data, err := m.Env.ReadImageFile(img, bootenv.DataDir+"/drd.log")
	if err != nil {
		return "", err
	}
	return Tail(data, LogLines), nil
}

// Shell runs the shell on the console.
func (m Machine) Shell(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, m.ShellArgv[0], m.ShellArgv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = m.In, m.Out, m.Out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return nil // the shell's last command failed: nothing for us
	}
	return err
}

// Reboot syncs and restarts the machine.
func (m Machine) Reboot(ctx context.Context) error {
	unix.Sync()
	return unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
}

func (m Machine) find(ctx context.Context, image string) (*bootenv.Image, error) {
	st, err := m.Env.RescueScan(ctx)
	if err != nil {
		return nil, fmt.Errorf("scanning the disks: %w", err)
	}
	for _, img := range st.Images {
		if img.Name == image {
			return img, nil
		}
	}
	return nil, fmt.Errorf("no image %s on this machine", image)
}

// KexecFile is the kernel's kexec_file_load(2) and reboot(LINUX_REBOOT_CMD_KEXEC).
type KexecFile struct{}

// Load loads kernel and initrd (nil for none) with cmdline.
func (KexecFile) Load(kernel, initrd *os.File, cmdline string) error {
	flags := 0
	initrdFd := -1
	if initrd == nil {
		flags |= unix.KEXEC_FILE_NO_INITRAMFS
	} else {
		initrdFd = int(initrd.Fd())
	}
	if err := unix.KexecFileLoad(int(kernel.Fd()), initrdFd, cmdline, flags); err != nil {
		return fmt.Errorf("kexec_file_load: %w", err)
	}
	return nil
}

// Exec starts the loaded kernel.
func (KexecFile) Exec() error {
	return unix.Reboot(unix.LINUX_REBOOT_CMD_KEXEC)
}

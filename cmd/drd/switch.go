package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/inroot"
)

// realSwitcher restarts this machine into an image (bootenv.Switcher):
// systemctl for the restart, kexec_file_load for a kexec.
type realSwitcher struct{ run execrun.Runner }

func (s realSwitcher) SystemdVersion(ctx context.Context) (int, error) {
	out, err := s.run.Run(ctx, "systemctl", "--version")
	if err != nil {
		return 0, err
	}
	return bootenv.ParseSystemdVersion(string(out))
}

// KexecLoad opens the kernel and initramfs inside the image's boot file
// system (links there never leave it) and loads them.
func (s realSwitcher) KexecLoad(bootDir string, p bootenv.KexecPlan) error {
	tree := inroot.Image(bootDir)
	k, err := tree.Open(p.Kernel, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("opening the kernel: %w", err)
	}
	defer k.Close()
	initrd, flags := -1, 0
	if p.Initrd == "" {
		flags |= unix.KEXEC_FILE_NO_INITRAMFS
	} else {
		f, err := tree.Open(p.Initrd, os.O_RDONLY, 0)
		if err != nil {
			return fmt.Errorf("opening the initramfs: %w", err)
		}
		defer f.Close()
		if len(p.InitrdAppend) > 0 {
			if f, err = withAppendix(f, p.InitrdAppend); err != nil {
				return fmt.Errorf("the initramfs with the trial's watchdog: %w", err)
			}
			defer f.Close()
		}
		initrd = int(f.Fd())
	}
	err = unix.KexecFileLoad(int(k.Fd()), initrd, p.Cmdline, flags)
	where := filepath.Join(bootDir, p.Kernel)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOSYS):
		return fmt.Errorf("kexec_file_load of %s: this kernel lacks kexec_file_load (CONFIG_KEXEC_FILE)", where)
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("kexec_file_load of %s: refused (kernel.kexec_load_disabled=1, or kernel lockdown)", where)
	case errors.Is(err, unix.EKEYREJECTED), errors.Is(err, unix.EBADMSG):
		return fmt.Errorf("kexec_file_load of %s: its signature was rejected (Secure Boot needs a signed kernel): %w", where, err)
	}
	return fmt.Errorf("kexec_file_load of %s: %w", where, err)
}

func (s realSwitcher) Restart(ctx context.Context, sw bootenv.Switch) error {
	verb := map[bootenv.Switch]string{bootenv.SwitchFirmware: "reboot", bootenv.SwitchKexec: "kexec", bootenv.SwitchSoft: "soft-reboot"}[sw]
	if verb == "" {
		return fmt.Errorf("no restart for switch %q", sw)
	}
	_, err := s.run.Run(ctx, "systemctl", verb)
	return err
}

// withAppendix is a memory file holding initrd, zeros to a multiple of 4
// bytes (where the kernel looks for the next archive), then appendix.
func withAppendix(initrd *os.File, appendix []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate("drd-initrd", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	mem := os.NewFile(uintptr(fd), "drd-initrd")
	n, err := io.Copy(mem, initrd)
	if err == nil {
		_, err = mem.Write(append(make([]byte, (4-n%4)%4), appendix...))
	}
	if err == nil {
		_, err = mem.Seek(0, io.SeekStart)
	}
	if err != nil {
		mem.Close()
		return nil, err
	}
	return mem, nil
}

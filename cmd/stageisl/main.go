// Command stageisl is drd's STAGEISL prompt, the program u-root's init
// starts in the ISL initramfs (docs/isl.md).
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/bootenv/efi"
	"github.com/drd-linux/drd/images/lvm2"
	"github.com/drd-linux/drd/isl"
)

func main() {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err == nil {
		modDir := "/lib/modules/" + unix.ByteSliceToString(uts.Release[:])
		n, errs := isl.LoadModules(modDir)
		for _, err := range errs {
			fmt.Fprintf(os.Stderr, "stageisl: %v\n", err)
		}
		if n > 0 {
			fmt.Printf("stageisl: loaded %d kernel modules from %s\n", n, modDir)
		}
	}
	// UEFI variables, for set's BootOrder; u-root's init mounts /sys only.
	// STAGEISL runs on the machine whose firmware it changes: the one
	// place besides drd's main that opens it.
	env := bootenv.Real("/")
	// No LVM tools here: the logical volumes are made from their
	// metadata with device-mapper ioctls (docs/isl.md).
	env.Mapper = lvm2.Mapper{}
	if _, err := os.Stat("/sys/firmware/efi"); err == nil {
		if err := unix.Mount("efivarfs", efi.HostVarDir, "efivarfs", 0, ""); err != nil && err != unix.EBUSY {
			fmt.Fprintf(os.Stderr, "stageisl: mounting efivarfs: %v (set will not change BootOrder)\n", err)
		}
		if v, err := efi.OpenVarFS(efi.HostVarDir); err == nil {
			env.EFI = v
		} else {
			fmt.Fprintf(os.Stderr, "stageisl: %v (set will not change BootOrder)\n", err)
		}
	}
	m := isl.Machine{
		Env:       env,
		Kexec:     isl.KexecFile{},
		ShellArgv: []string{"/bbin/gosh"},
		In:        os.Stdin,
		Out:       os.Stdout,
	}
	// exit leaves the prompt for the shell; the shell's exit returns to
	// it. The end of the console's input ends STAGEISL (and u-root's init).
	for {
		err := isl.Run(context.Background(), m, os.Stdin, os.Stdout)
		if err != nil {
			if err != io.EOF {
				fmt.Fprintf(os.Stderr, "stageisl: %v\n", err)
			}
			unix.Sync()
			os.Exit(1)
		}
		fmt.Println("The shell (gosh): exit returns to STAGEISL; shutdown reboot restarts the machine.")
		if err := m.Shell(context.Background()); err != nil {
			fmt.Fprintf(os.Stderr, "stageisl: %v\n", err)
		}
	}
}

// Command stageisl is drd's STAGEISL prompt, the program u-root's init
// starts in the ISL initramfs (docs/isl.md).
package main

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/isl"
)

func main() {
	// UEFI variables, for set's BootOrder; u-root's init mounts /sys only.
	if _, err := os.Stat("/sys/firmware/efi"); err == nil {
		if err := unix.Mount("efivarfs", bootenv.DefaultEFIVarDir, "efivarfs", 0, ""); err != nil && err != unix.EBUSY {
			fmt.Fprintf(os.Stderr, "stageisl: mounting efivarfs: %v (set will not change BootOrder)\n", err)
		}
	}
	m := isl.Machine{
		Env:       bootenv.Real("/"),
		Kexec:     isl.KexecFile{},
		ShellArgv: []string{"/bbin/gosh"},
		In:        os.Stdin,
		Out:       os.Stdout,
	}
	if err := isl.Run(context.Background(), m, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "stageisl: %v\n", err)
		os.Exit(1)
	}
}

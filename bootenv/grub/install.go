package grub

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/drd-linux/drd/internal/execrun"
)

// InstallGrubBIOS puts GRUB for BIOS on disk (boot.img in its boot
// sector, core.img in its BIOS-boot partition) with its modules and
// prefix in bootDir/grub: bootDir is the image's /boot as mounted on this
// machine. The modules come from the image's own /usr/lib/grub/i386-pc
// under imageRoot when it has them (after a grub-pc upgrade in the image
// they are the new ones), else from this machine's. It returns what
// grub-install said.
func InstallGrubBIOS(ctx context.Context, run execrun.Runner, imageRoot, bootDir, disk string) (string, error) {
	args := []string{"--target=i386-pc", "--boot-directory=" + bootDir}
	if lib := filepath.Join(imageRoot, "usr/lib/grub/i386-pc"); imageRoot != "" && isFile(filepath.Join(lib, "boot.img")) {
		args = append(args, "--directory="+lib)
	}
	out, err := run.Run(ctx, "grub-install", append(args, disk)...)
	if err != nil {
		return "", fmt.Errorf("installing GRUB for BIOS on %s: %w", disk, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

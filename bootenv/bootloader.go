package bootenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/inroot"
	"github.com/drd-linux/drd/internal/report"
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

// GrubCfgStale is the mark, in an image, that its grub.cfg must be
// regenerated: update-grub was skipped in drd runcmd (it needs the
// image's disks, which the runcmd environment does not show).
const GrubCfgStale = "var/opt/drd/grub-cfg-stale"

// MarkGrubCfgStale marks the image at root: its next boot-time pass runs
// update-grub.
func MarkGrubCfgStale(root string) error {
	tr := inroot.Mounts(root) // never through a link the image planted
	if err := tr.MkdirAll(filepath.Dir(GrubCfgStale), 0o755); err != nil {
		return fmt.Errorf("marking the grub.cfg of %s for regeneration: %w", root, err)
	}
	if err := tr.WriteFile(GrubCfgStale, []byte("update-grub was skipped in drd runcmd; drd boot-check runs it at the next boot\n"), 0o644); err != nil {
		return fmt.Errorf("marking the grub.cfg of %s for regeneration: %w", root, err)
	}
	return nil
}

// regenerateGrubCfg runs update-grub in the booted image when drd runcmd
// marked its grub.cfg stale; drd's entries stay (its /etc/grub.d/05_drd).
// A failure is a warning: the mark stays for the next boot, and drd's own
// menu (drd.cfg) boots the newest kernel meanwhile.
func (m Machine) regenerateGrubCfg(ctx context.Context, run execrun.Runner, r report.Reporter) {
	mark := filepath.Join(m.Root, GrubCfgStale)
	if _, err := os.Stat(mark); err != nil {
		return
	}
	if filepath.Clean(m.Root) != "/" {
		r.Note("%s: its grub.cfg is regenerated when it runs its own boot-time pass", m.Root)
		return
	}
	r.Step("Regenerating grub.cfg (update-grub was skipped in drd runcmd)")
	out, err := run.Run(ctx, "update-grub")
	if err != nil {
		r.Warn("update-grub failed, tried again at the next boot: %v", err)
		return
	}
	if text := strings.TrimSpace(string(out)); text != "" {
		r.Note("%s", text)
	}
	if err := os.Remove(mark); err != nil {
		r.Warn("removing %s: %v", mark, err)
	}
}

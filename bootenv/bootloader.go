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

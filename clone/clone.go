// Package clone plans a clone of the booted system image (critical and
// shared file systems, target checks) and carries it out: partitions, file
// systems, the copy, the second pass and the fix-ups in the clone.
package clone

import (
	"context"
	"os"

	"github.com/drd-linux/drd/bootenv/efi"
	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/report"
)

// Options of one clone.
type Options struct {
	Root      string   // root of the booted image: "/" or --root
	Target    string   // whole block device or image file
	Preview   bool     // check and print the plan, write nothing
	Overwrite bool     // accept a target that carries data
	ESP       bool     // give the clone an ESP even if the source has none
	ImageSize int64    // size of a new image file; 0: from used space
	Exclude   []string // paths (in the image) whose contents are left out
	Snapshot  string   // root on LVM: copy from snapshots "auto" (""), "always" or "never"
	// NoBaseline skips drd verify of the booted image after the copy:
	// the clone gets no starting verify baseline (startBaseline).
	NoBaseline bool

	// EFI is the firmware's UEFI variables, where the clone's Boot####
	// goes; nil: none is added (a BIOS machine, or not this machine's
	// firmware). Only a command's main gives the real machine's.
	EFI efi.Vars

	// Seams for tests; zero values mean the real machine.
	SysDir, ProcDir string         // "/sys", "/proc"
	Runner          execrun.Runner // external programs (mkfs, tune2fs)
	// Exe is drd's executable, copied into both images as
	// bootenv.DrdPath for the boot check; "": the running one.
	Exe string
}

func (o *Options) defaults() {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.SysDir == "" {
		o.SysDir = "/sys"
	}
	if o.ProcDir == "" {
		o.ProcDir = "/proc"
	}
	if o.Runner == nil {
		o.Runner = execrun.Real{}
	}
	if o.Exe == "" {
		o.Exe, _ = os.Executable() // if unknown, InstallDrd says so
	}
}

// discover releases what an earlier interrupted run left (unless
// Preview) and plans the copy of the booted image at opt.Root: the
// start of a clone and of an import.
func discover(ctx context.Context, opt Options, r report.Reporter) (*Plan, error) {
	if !opt.Preview {
		if err := releaseStale(ctx, opt, r); err != nil {
			return nil, err
		}
	}
	r.Step("Discovering the booted system image at %s", opt.Root)
	return makePlan(ctx, opt)
}

// Run checks, plans and (unless Preview) carries out a clone.
func Run(ctx context.Context, opt Options, r report.Reporter) error {
	opt.defaults()
	p, err := discover(ctx, opt, r)
	if err != nil {
		return err
	}
	showPlan(p, opt.Preview, r)
	if opt.Preview {
		r.Step("Preview: nothing was written")
		return nil
	}
	return execute(ctx, p, opt, r)
}

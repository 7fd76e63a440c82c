// Package clone plans a clone of the booted system image (critical and
// shared file systems, target checks) and carries it out.
package clone

import (
	"context"
	"errors"

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
}

// Run checks, plans and (unless Preview) carries out a clone.
func Run(ctx context.Context, opt Options, r report.Reporter) error {
	return errors.New("not implemented yet")
}

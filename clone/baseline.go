package clone

import (
	"context"
	"fmt"
	"time"

	"github.com/drd-linux/drd/verify"
)

// noBaseline says what a clone without a baseline (-x baseline=false)
// leaves out.
func (c *run) noBaseline(ctx context.Context) error {
	c.r.Note("the booted image is not verified: drd verify of the clone reports also what the booted image already had, until drd verify -x baseline=true of the clone")
	return nil
}

// startBaseline gives the clone the booted image's drd verify findings
// as its starting baseline, so that drd verify of the clone shows only
// what changed in it since (runcmd's patches and anything else). The
// source is verified after the copy, when its files are in the page
// cache; an image verify cannot check (no dpkg) gets no baseline, with a
// note.
func (c *run) startBaseline(ctx context.Context) error {
	start := time.Now()
	res, err := verify.Verify(ctx, verify.Options{Root: c.opt.Root})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		c.r.Note("the clone gets no verify baseline: %v", err)
		return nil
	}
	b := &verify.Baseline{Date: time.Now().UTC(), User: "drd clone", Findings: res.Findings}
	if err := verify.WriteBaseline(c.dst[c.rootIndex()], b); err != nil {
		return fmt.Errorf("writing the clone's verify baseline: %w", err)
	}
	c.r.Note("%d findings of drd verify of the booted image (%d files, %s) are the clone's baseline (%s)",
		len(res.Findings), res.Files, time.Since(start).Round(100*time.Millisecond), verify.BaselinePath)
	return nil
}

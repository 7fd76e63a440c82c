package clone

import (
	"github.com/drd-linux/drd/internal/report"
)

// showPlan reports the plan: what is copied, what is shared, and the
// target's layout.
func showPlan(p *Plan, r report.Reporter) {
	r.Step("Booted image %s on %s", p.Origin.Name, p.Source.Disk)
	for _, c := range p.Source.Critical {
		state := "mounted at " + c.MountPoint
		if !c.Mounted() {
			state = "not mounted"
		}
		r.Note("critical %-10s %-16s %-5s %9s used of %9s  (%s)", c.MountPoint, c.Device, c.Type, humanSize(c.Used), humanSize(c.Size), state)
	}
	for _, s := range p.Source.Shared {
		r.Note("shared   %-10s %-16s %-5s (%s): not copied, kept in the clone's fstab", s.MountPoint, s.Source, s.Type, s.Why)
	}
	where := p.Target.Disk
	if p.Target.File != "" {
		where = p.Target.File
		if p.Target.Create {
			where += " (new image file)"
		}
	}
	r.Step("Clone %s to %s, %s", p.Name, where, humanSize(p.Target.Size))
	for _, part := range p.Parts {
		r.Note("partition %d %-28s %9s", part.Number, part.Name, humanSize(part.Size))
	}
	for _, f := range p.FS {
		r.Note("%-10s %-5s label %-13s uuid %s", f.MountPoint, f.Type, f.ID.Label, f.ID.UUID)
	}
}

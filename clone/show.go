package clone

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/drd-linux/drd/internal/report"
)

// showPlan reports the plan as a table: what is copied, what is shared,
// and the target's layout. A preview shows it always; a clone with -v.
func showPlan(p *Plan, preview bool, r report.Reporter) {
	r.Step("Booted image %s on %s", p.Origin.Name, p.Source.Disk)
	where := p.Target.Disk
	if p.Target.File != "" {
		where = p.Target.File
		if p.Target.Create {
			where += " (new image file)"
		}
	}
	r.Step("Clone %s to %s, %s", p.Name, where, humanSize(p.Target.Size))
	if p.Reuses != "" {
		r.Step("%s holds the retired image %s and nothing else: the clone replaces it", p.Target.Disk, p.Reuses)
	}
	for _, vg := range p.Deactivated {
		r.Note("deactivated volume group %s of the retired image %s (active, unused)", vg, p.Reuses)
	}
	show := r.Note
	if preview {
		show = func(format string, args ...any) { r.Step(format, args...) }
	}
	show("Plan:\n%s", planTable(p))
}

// planTable is the plan as aligned text.
func planTable(p *Plan) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "  MOUNT POINT\tSOURCE\tTYPE\tUSED\tSIZE\tCLONE PARTITION\tNEW SIZE\tACTION")
	for _, f := range p.FS {
		part := p.Parts[f.Part]
		src, used, size := "(none)", "-", "-"
		action := "copy"
		if f.Src.Device != "" {
			src, used, size = f.Src.Device, humanSize(f.Used), humanSize(f.Src.Size)
			if !f.Src.Mounted() {
				action = "copy (not mounted)"
			}
		} else {
			action = "new, empty"
		}
		where, newSize := fmt.Sprintf("%d %s", part.Number, part.Name), part.Size
		if f.LV != "" {
			where, newSize = "LV "+p.VG.Name+"/"+f.LV, f.Size
		}
		if s, ok := p.snapshotFor(f); ok {
			action += " from snapshot " + s.Name
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.MountPoint, src, f.Type, used, size, where, humanSize(newSize), action)
	}
	for _, s := range p.Source.Shared {
		fmt.Fprintf(w, "  %s\t%s\t%s\t-\t-\t-\t-\tshared: %s\n", s.MountPoint, s.Source, s.Type, s.Why)
	}
	w.Flush()
	if v := p.VG; v != nil {
		part := p.Parts[v.Part]
		fmt.Fprintf(&b, "  Volume group %s (new, for %s) on partition %d %s, %s", v.Name, v.Source, part.Number, part.Name, humanSize(part.Size))
		if len(v.Remove) > 0 {
			fmt.Fprintf(&b, "; first removes %s, left on the target", strings.Join(v.Remove, ", "))
		}
		b.WriteString("\n")
		if len(p.Snaps) > 0 {
			var names []string
			for _, s := range p.Snaps {
				names = append(names, fmt.Sprintf("%s/%s (%s)", s.VG, s.Name, humanSize(s.Size)))
			}
			fmt.Fprintf(&b, "  Snapshots, taken together and removed after the copy: %s\n", strings.Join(names, ", "))
		} else {
			fmt.Fprintf(&b, "  No snapshots (%s): two passes over the live file systems\n", p.NoSnaps)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// snapshotFor is the snapshot the copy of f reads from.
func (p *Plan) snapshotFor(f TargetFS) (snapshot, bool) {
	for _, s := range p.Snaps {
		if f.Src.VG == s.VG && f.Src.LV == s.Origin && f.MountPoint == s.MountPoint {
			return s, true
		}
	}
	return snapshot{}, false
}

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
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%d %s\t%s\t%s\n", f.MountPoint, src, f.Type, used, size, part.Number, part.Name, humanSize(part.Size), action)
	}
	for _, s := range p.Source.Shared {
		fmt.Fprintf(w, "  %s\t%s\t%s\t-\t-\t-\t-\tshared: %s\n", s.MountPoint, s.Source, s.Type, s.Why)
	}
	w.Flush()
	return strings.TrimRight(b.String(), "\n")
}

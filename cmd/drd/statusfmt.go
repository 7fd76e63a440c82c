package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/columns"
	"github.com/drd-linux/drd/internal/console"
	"github.com/drd-linux/drd/internal/options"
)

// none is what drd status prints for a missing value.
const none = "None"

// formatStatus writes the status table, after HP's drd status: the
// original and its clones, the booted and the activated disk, then each
// image's file systems. verbose adds labels, space used and histories.
// Times are written in loc.
func formatStatus(st *bootenv.Status, loc *time.Location, verbose bool) string {
	orig := original(st)
	var clones []*bootenv.Image
	for _, img := range st.Images {
		if img != orig {
			clones = append(clones, img)
		}
	}
	clones = append(clones, st.Missing...)
	rows := [][]string{
		{"Original Disk:", imageDisk(orig)},
		{"Original Boot Partition:", bootPartition(orig)},
	}
	if len(clones) == 0 {
		clones = []*bootenv.Image{nil}
	}
	for _, c := range clones {
		var created, synced time.Time
		stateText := none
		if c != nil {
			created, synced = c.Created, c.LastSync
			if c.State != "" {
				stateText = string(c.State)
			}
			if c.Reason != "" {
				stateText += " (" + c.Reason + ")"
			}
			if c.Missing != "" {
				stateText = "not present (" + c.Missing + ")"
			}
		}
		rows = append(rows,
			[]string{"Clone Disk:", imageDisk(c)},
			[]string{"Clone Boot Partition:", bootPartition(c)},
			[]string{"Clone Creation Date:", date(created, loc)},
			[]string{"Clone State:", stateText},
			[]string{"Last Sync Date:", date(synced, loc)},
		)
	}
	rows = append(rows,
		[]string{"Booted Disk:", role(st.Booted, orig)},
		[]string{"Activated Disk:", activated(st, orig)},
		[]string{"STAGEISL:", islSummary(st)},
	)
	var b strings.Builder
	b.WriteString(columns.Format(rows, ""))
	for _, img := range st.Images {
		b.WriteString("\n")
		b.WriteString(formatImage(img, loc, verbose))
	}
	for _, img := range st.Missing {
		fmt.Fprintf(&b, "\n%s on %s: not present: %s\n", img.Name, img.Target, img.Missing)
	}
	for _, p := range st.Problems {
		fmt.Fprintf(&b, "\nProblem with %s: %s\n  What to do: %s\n", p.What, p.Why, p.Action)
	}
	return b.String()
}

// islSummary says on which images drd isl install put STAGEISL and for
// which kernel: "sysimage_000, sysimage_001 (Linux 6.1.0-28-amd64)", a
// kernel per image when they differ, None when on none.
func islSummary(st *bootenv.Status) string {
	var names, kernels []string
	for _, on := range st.ISL {
		names = append(names, on.Image)
		kernels = append(kernels, on.Kernel)
	}
	if len(names) == 0 {
		return none
	}
	if len(slices.Compact(slices.Clone(kernels))) == 1 {
		return strings.Join(names, ", ") + " (Linux " + kernels[0] + ")"
	}
	parts := make([]string, len(names))
	for i := range names {
		parts[i] = names[i] + " (Linux " + kernels[i] + ")"
	}
	return strings.Join(parts, ", ")
}

// original is the image the others were cloned from: the first (booted
// first) that was cloned from nothing, else the first that is the origin
// of another, else the booted one.
func original(st *bootenv.Status) *bootenv.Image {
	for _, img := range st.Images {
		if img.Origin == "" {
			return img
		}
	}
	for _, img := range st.Images {
		for _, other := range st.Images {
			if other.Origin == img.ID && other != img {
				return img
			}
		}
	}
	return st.Booted
}

// imageDisk names an image and where it lives: "/dev/vdb (sysimage_001)".
func imageDisk(img *bootenv.Image) string {
	if img == nil {
		return none
	}
	if img.Name == "" {
		return where(img)
	}
	return where(img) + " (" + img.Name + ")"
}

// where an image lives: its disk, or its image file and the loop device
// it is attached to: "/srv/clone.img via /dev/loop3".
func where(img *bootenv.Image) string {
	switch {
	case img.Missing != "":
		return img.Target + " (not present)"
	case img.ImageFile != "" && img.Disk != "":
		return img.ImageFile + " via " + img.Disk
	case img.ImageFile != "":
		return img.ImageFile
	case img.Disk != "":
		return img.Disk
	}
	return "unknown disk"
}

// bootPartition is the device of the image's ESP (/boot/efi), else of /boot.
func bootPartition(img *bootenv.Image) string {
	if img == nil {
		return none
	}
	for _, mp := range []string{"/boot/efi", "/boot"} {
		for _, fs := range img.FileSystems {
			if fs.MountPoint == mp && fs.Device != "" {
				return fs.Device
			}
		}
	}
	return none
}

// role says what img is, as HP's drd does: "Original Disk (/dev/vda)".
func role(img, orig *bootenv.Image) string {
	if img == nil {
		return none
	}
	if img == orig {
		return "Original Disk (" + where(img) + ")"
	}
	return "Clone Disk (" + where(img) + ")"
}

func activated(st *bootenv.Status, orig *bootenv.Image) string {
	if st.Activated == "" {
		return none
	}
	trial := ""
	if b := st.Boot; b != nil && b.Pending() && b.Trial == st.Activated {
		trial = fmt.Sprintf(", on trial: %d boots left, then %s", b.Tries, b.Next)
	}
	for _, img := range st.Images {
		if img.Name == st.Activated {
			return role(img, orig) + trial
		}
	}
	return st.Activated + " (not found)" + trial
}

func date(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return none
	}
	return t.In(loc).Format(console.DateFormat)
}

// formatImage writes the heading and file-system table of one image.
func formatImage(img *bootenv.Image, loc *time.Location, verbose bool) string {
	name := img.Name
	if name == "" {
		name = "unnamed image"
	}
	heading := fmt.Sprintf("%s on %s", name, where(img))
	if img.Booted {
		heading += " (booted)"
	}
	if img.State == bootenv.Retired {
		heading += " (retired: drd clone may reuse its disk)"
	}
	var b strings.Builder
	b.WriteString(heading + ":\n")
	head := []string{"MOUNT POINT", "DEVICE", "TYPE", "SIZE", "UUID"}
	lvm := slices.ContainsFunc(img.FileSystems, func(f bootenv.FileSystem) bool { return f.VG != "" })
	if lvm {
		head = append(head, "VG/LV")
	}
	if verbose {
		head = append(head, "LABEL", "USED")
	}
	rows := [][]string{head}
	for _, fs := range img.FileSystems {
		r := []string{fs.MountPoint, deviceNow(img, fs), orNone(fs.Type), sizeOrNone(fs.Size), orNone(fs.UUID)}
		if lvm {
			vl := none
			if fs.VG != "" {
				vl = fs.VG + "/" + fs.LV
			}
			r = append(r, vl)
		}
		if verbose {
			r = append(r, orNone(fs.Label), sizeOrNone(fs.Used))
		}
		rows = append(rows, r)
	}
	if len(img.FileSystems) == 0 {
		rows = [][]string{{"no file systems found"}}
	}
	b.WriteString(columns.Format(rows, "  "))
	if verbose && len(img.History) > 0 {
		b.WriteString("  History:\n")
		var hist [][]string
		for _, e := range img.History {
			hist = append(hist, []string{date(e.Time, loc), e.Action, e.User, e.Result, e.Detail})
		}
		lines := strings.SplitAfter(columns.Format(hist, "    "), "\n")
		for i, e := range img.History {
			b.WriteString(lines[i])
			for _, c := range e.Changes {
				b.WriteString("      " + c.Text() + "\n")
			}
		}
	}
	return b.String()
}

// deviceNow is where a file system of img is now, as the scan found it:
// its device, "not attached" in an image file the scan attached only
// while it looked, "not present" when no device shows it.
func deviceNow(img *bootenv.Image, fs bootenv.FileSystem) string {
	switch {
	case fs.Device != "":
		return fs.Device
	case img.Booted:
		return none
	case img.ImageFile != "" && img.Disk == "":
		return "not attached"
	}
	return "not present"
}

func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}

func sizeOrNone(n int64) string {
	if n == 0 {
		return none
	}
	return options.FormatSize(n)
}

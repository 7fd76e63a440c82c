package isl

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/drd-linux/drd/bootenv"
)

// FormatList is the table of the list command; what the scan could not
// do (Problems: a file system it could not read, an incomplete volume
// group) follows the table.
func FormatList(st *bootenv.Status) string {
	if len(st.Images) == 0 {
		return "No drd system image found on any disk.\n" + formatProblems(st)
	}
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "IMAGE\tDISK\tSTATE\tCREATED\tLAST GOOD BOOT\t")
	for _, img := range st.Images {
		state := rescueState(img.State)
		if img.Reason != "" {
			state += " (" + img.Reason + ")"
		}
		mark := ""
		if img.Name == st.Activated {
			mark = " *"
		}
		fmt.Fprintf(w, "%s%s\t%s\t%s\t%s\t%s\t\n", img.Name, mark, img.Disk, state, stamp(img.Created), stamp(lastGood(img)))
	}
	w.Flush()
	b.WriteString("(* the boot target)\n")
	b.WriteString(formatProblems(st))
	return b.String()
}

// formatProblems says what the scan could not do: "Problem with
// /dev/vdc2: ...", and what to do.
func formatProblems(st *bootenv.Status) string {
	var b strings.Builder
	for _, p := range st.Problems {
		fmt.Fprintf(&b, "Problem with %s: %s\n  What to do: %s\n", p.What, p.Why, p.Action)
	}
	return b.String()
}

// FormatStatus is the text of the status command.
func FormatStatus(st *bootenv.Status) string {
	var b strings.Builder
	last, when := lastBooted(st)
	if last == "" {
		fmt.Fprintf(&b, "Booted from:  STAGEISL (no image ran here since its record was made)\n")
	} else {
		fmt.Fprintf(&b, "Booted from:  STAGEISL; the image booted last is %s (%s)\n", last, stamp(when))
	}
	switch {
	case st.Boot == nil && st.Activated == "":
		b.WriteString("Boot target:  none set by drd (the firmware's and GRUB's default)\n")
	case st.Boot == nil:
		fmt.Fprintf(&b, "Boot target:  %s\n", st.Activated)
	default:
		fmt.Fprintf(&b, "Boot target:  %s%s\n", st.Boot.Target(), stateOf(st, st.Boot.Target()))
	}
	switch {
	case st.Boot == nil || st.Boot.Trial == "":
		b.WriteString("Trial:        none\n")
	case st.Boot.Pending():
		fmt.Fprintf(&b, "Trial:        %s, %d boot(s) left, then %s\n", st.Boot.Trial, st.Boot.Tries, st.Boot.Next)
	default:
		fmt.Fprintf(&b, "Trial:        %s used its tries; %s boots\n", st.Boot.Trial, st.Boot.Next)
	}
	return b.String()
}

// stateOf is " (state)" of the named image, "" if it is not found.
func stateOf(st *bootenv.Status, name string) string {
	for _, img := range st.Images {
		if img.Name == name {
			return " (" + rescueState(img.State) + ")"
		}
	}
	return " (not found on any disk)"
}

// rescueState is how STAGEISL shows a record's state: no image runs
// under STAGEISL, so "booted" is the image that ran last.
func rescueState(s bootenv.State) string {
	if s == bootenv.Booted {
		return "last booted"
	}
	return string(s)
}

// lastGood is when img last booted successfully, zero if never.
func lastGood(img *bootenv.Image) time.Time {
	var t time.Time
	for _, e := range img.History {
		if e.Action == "boot" && e.Result == "succeeded" && e.Time.After(t) {
			t = e.Time
		}
	}
	return t
}

// lastBooted is the image that booted last, by the records.
func lastBooted(st *bootenv.Status) (string, time.Time) {
	var name string
	var t time.Time
	for _, img := range st.Images {
		if g := lastGood(img); g.After(t) {
			name, t = img.Name, g
		}
	}
	return name, t
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// Tail is the last n lines of text.
func Tail(text []byte, n int) string {
	s := strings.TrimRight(string(text), "\n")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}

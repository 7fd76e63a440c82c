package runcmd

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/drd-linux/drd/safety"
)

// Report is what drd found before the command ran: whether the command
// is DRD-safe and how safe each package it installs or removes is.
// -x precheck_only=true prints it and stops; a refusal prints it too.
type Report struct {
	Image   string   `json:"image"`
	Command []string `json:"command"`
	// CommandSafe: the command is one drd runcmd runs by default;
	// CommandProblem says why not.
	CommandSafe    bool             `json:"command_drd_safe"`
	CommandProblem string           `json:"command_problem,omitempty"`
	Packages       []safety.Verdict `json:"packages"`
	// Inspected tells whether drd could list the packages the command
	// changes (apt, dpkg, rpm); false for a command it does not read.
	Inspected bool `json:"inspected"`
	// Result: "ok" (everything DRD-safe or neutralized), "refused", or
	// "allowed" (something unsafe, run with -x allow_unsafe=true).
	Result   string   `json:"result"`
	Refusals []string `json:"refusals,omitempty"` // one line per refused package or command
}

// Decide fills the result: unsafe packages and a command that is not
// DRD-safe are refused unless allowUnsafe.
func (rep *Report) Decide(allowUnsafe bool) {
	rep.Refusals = nil
	if !rep.CommandSafe {
		rep.Refusals = append(rep.Refusals, "command: "+rep.CommandProblem)
	}
	for _, v := range rep.Packages {
		if v.Level == safety.Unsafe {
			rep.Refusals = append(rep.Refusals, fmt.Sprintf("%s %s: %s", v.Package, v.Version, strings.Join(v.Reasons(), "; ")))
		}
	}
	switch {
	case len(rep.Refusals) == 0:
		rep.Result = "ok"
	case allowUnsafe:
		rep.Result = "allowed"
	default:
		rep.Result = "refused"
	}
}

// WriteJSON writes the report as one indented JSON object.
func (rep *Report) WriteJSON(w io.Writer) error {
	if rep.Packages == nil {
		rep.Packages = []safety.Verdict{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteText writes the report for a person.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "DRD-safe check of %q in %s\n", strings.Join(rep.Command, " "), rep.Image)
	if rep.CommandSafe {
		b.WriteString("  command: DRD-safe\n")
	} else {
		fmt.Fprintf(&b, "  command: NOT DRD-safe: %s\n", rep.CommandProblem)
	}
	if !rep.Inspected {
		b.WriteString("  packages: not inspected (drd reads the packages of apt, dpkg and rpm commands)\n")
	} else if len(rep.Packages) == 0 {
		b.WriteString("  packages: none installed or removed\n")
	}
	for _, v := range rep.Packages {
		fmt.Fprintf(&b, "  %s %s %s: %s\n", v.Action, v.Package, v.Version, levelText(v.Level))
		if v.Override != "" {
			fmt.Fprintf(&b, "      %s\n", v.Override)
		}
		for _, f := range v.Findings {
			fmt.Fprintf(&b, "      %s line %d: %s\n          %s (rule %s, %s): %s\n", f.Script, f.Line, f.Text, f.What, f.Rule, f.Level, f.Why)
		}
	}
	switch rep.Result {
	case "ok":
		b.WriteString("  result: DRD-safe\n")
	case "allowed":
		fmt.Fprintf(&b, "  result: NOT DRD-safe, run anyway (-x allow_unsafe=true):\n")
	case "refused":
		fmt.Fprintf(&b, "  result: REFUSED, nothing is installed (-x allow_unsafe=true runs it anyway):\n")
	}
	for _, r := range rep.Refusals {
		fmt.Fprintf(&b, "      %s\n", r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func levelText(l safety.Level) string {
	switch l {
	case safety.Neutralized:
		return "neutralized by the runcmd environment"
	case safety.Unsafe:
		return "UNSAFE"
	}
	return "DRD-safe"
}

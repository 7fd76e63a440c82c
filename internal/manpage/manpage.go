// Package manpage writes man pages in roff (the man(7) macros) from a
// value: the page's name, sections and option lists. cmd/drd fills the
// values from its command tree (drd generate), so the pages cannot drift
// from the commands; this package knows nothing of drd.
package manpage

import (
	"fmt"
	"strings"
)

// Page is one man page.
type Page struct {
	Name, Section string // drd-clone, 8
	Date          string // YYYY-MM-DD, the footer's middle; may be ""
	Source        string // the footer's left: "drd 1.2.0"
	Manual        string // the header's centre: "System Administration"

	Short       string   // the NAME line after "\-"
	Synopsis    []string // one line each
	Description []string // paragraphs
	Options     []Item   // OPTIONS
	Commands    []Item   // COMMANDS
	Sections    []Section
	SeeAlso     []string // "drd(8)"
}

// Item is one tagged paragraph: an option or a command and its text.
type Item struct{ Term, Text string }

// Section is a section of its own: paragraphs, then items.
type Section struct {
	Title string
	Paras []string
	Items []Item
}

// Roff is the page in roff.
func (p *Page) Roff() string {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH %s %s %s %s %s\n", quote(strings.ToUpper(p.Name)), p.Section, quote(p.Date), quote(p.Source), quote(p.Manual))
	b.WriteString(".SH NAME\n")
	fmt.Fprintf(&b, "%s \\- %s\n", Escape(p.Name), Escape(p.Short))
	if len(p.Synopsis) > 0 {
		b.WriteString(".SH SYNOPSIS\n")
		for i, s := range p.Synopsis {
			if i > 0 {
				b.WriteString(".br\n")
			}
			fmt.Fprintf(&b, ".B %s\n", Escape(s))
		}
	}
	section(&b, Section{Title: "DESCRIPTION", Paras: p.Description})
	section(&b, Section{Title: "OPTIONS", Items: p.Options})
	section(&b, Section{Title: "COMMANDS", Items: p.Commands})
	for _, s := range p.Sections {
		section(&b, s)
	}
	if len(p.SeeAlso) > 0 {
		b.WriteString(".SH SEE ALSO\n")
		var refs []string
		for _, s := range p.SeeAlso {
			name, sec, ok := strings.Cut(strings.TrimSuffix(s, ")"), "(")
			if !ok {
				refs = append(refs, Escape(s))
				continue
			}
			refs = append(refs, fmt.Sprintf("\\fB%s\\fR(%s)", Escape(name), Escape(sec)))
		}
		b.WriteString(strings.Join(refs, ",\n") + "\n")
	}
	return b.String()
}

func section(b *strings.Builder, s Section) {
	if len(s.Paras) == 0 && len(s.Items) == 0 {
		return
	}
	fmt.Fprintf(b, ".SH %s\n", Escape(s.Title))
	for i, p := range s.Paras {
		if i > 0 {
			b.WriteString(".PP\n")
		}
		b.WriteString(Escape(p) + "\n")
	}
	for _, it := range s.Items {
		fmt.Fprintf(b, ".TP\n.B %s\n%s\n", Escape(it.Term), Escape(it.Text))
	}
}

// Escape makes text safe as roff text: backslashes and hyphens escaped
// (\- is the minus of options, which man -k and copy-paste keep), and a
// line that would start with a control character ('.' or ') guarded.
func Escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}

// quote is a macro argument: escaped and in double quotes ("" inside).
func quote(s string) string {
	return `"` + strings.ReplaceAll(Escape(s), `"`, `""`) + `"`
}

package manpage

import (
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"-x name=value":      `\-x name=value`,
		`a\b`:                `a\eb`,
		".hidden line":       `\&.hidden line`,
		"one\n'quoted start": "one\n\\&'quoted start",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRoff(t *testing.T) {
	p := &Page{Name: "drd-x", Section: "8", Date: "2026-12-04", Source: "drd 1.0", Manual: "System Administration",
		Short: "do x", Synopsis: []string{"drd x [-p]"}, Description: []string{"First.", "Second."},
		Options: []Item{{"-p", "preview"}}, SeeAlso: []string{"drd(8)"}}
	got := p.Roff()
	for _, want := range []string{
		`.TH "DRD\-X" 8 "2026\-12\-04" "drd 1.0" "System Administration"` + "\n",
		".SH NAME\ndrd\\-x \\- do x\n",
		".SH SYNOPSIS\n.B drd x [\\-p]\n",
		".SH DESCRIPTION\nFirst.\n.PP\nSecond.\n",
		".SH OPTIONS\n.TP\n.B \\-p\npreview\n",
		".SH SEE ALSO\n\\fBdrd\\fR(8)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("page lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "COMMANDS") {
		t.Errorf("an empty section is written:\n%s", got)
	}
}

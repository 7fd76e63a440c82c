package columns

import "testing"

func TestFormat(t *testing.T) {
	for _, tt := range []struct {
		name   string
		rows   [][]string
		indent string
		want   string
	}{
		{"none", nil, "  ", ""},
		{"aligned", [][]string{{"NAME", "SIZE", "NOTE"}, {"sysimage_000", "8G", ""}, {"a", "19.5G", "booted"}}, "  ",
			"  NAME          SIZE   NOTE\n  sysimage_000  8G\n  a             19.5G  booted\n"},
		{"short rows", [][]string{{"one"}, {"a", "b"}}, "", "one\na    b\n"},
	} {
		if got := Format(tt.rows, tt.indent); got != tt.want {
			t.Errorf("%s: Format() =\n%q\nwant\n%q", tt.name, got, tt.want)
		}
	}
}

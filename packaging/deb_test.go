package packaging

import "testing"

func TestDebVersion(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.0":                  "1.2.0-1",
		"1.2.0":                   "1.2.0-1",
		"v1.2.0-3-gabc1234":       "1.2.0+3.gabc1234-1",
		"v1.2.0-3-gabc1234-dirty": "1.2.0+3.gabc1234+dirty-1",
		"abc1234":                 "0~gabc1234-1",
		"abc1234-dirty":           "0~gabc1234+dirty-1",
		"v2.0.0-rc1":              "",
		"feature-x":               "",
		"":                        "",
	} {
		got, err := DebVersion(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("DebVersion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

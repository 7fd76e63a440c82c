package etcmerge

import (
	"errors"
	"strings"
	"testing"
)

// text joins lines, each with its newline.
func text(lines ...string) []byte {
	if len(lines) == 0 {
		return nil
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

func TestLines(t *testing.T) {
	base := text("a", "b", "c", "d", "e", "f", "g")
	tests := []struct {
		name                string
		base, clone, booted []byte
		want                []byte
		conflict            string // the Reason, when a conflict
	}{
		{"clone only", base, text("a", "B", "c", "d", "e", "f", "g"), base,
			text("a", "B", "c", "d", "e", "f", "g"), ""},
		{"booted only", base, base, text("a", "b", "c", "d", "e", "f", "G"),
			text("a", "b", "c", "d", "e", "f", "G"), ""},
		{"apart", base, text("a", "B", "c", "d", "e", "f", "g"), text("a", "b", "c", "d", "e", "F", "g"),
			text("a", "B", "c", "d", "e", "F", "g"), ""},
		{"same change on both", base, text("a", "b", "C", "d", "e", "f", "g"), text("a", "b", "C", "d", "e", "f", "g"),
			text("a", "b", "C", "d", "e", "f", "g"), ""},
		{"added at both ends", base, text("0", "a", "b", "c", "d", "e", "f", "g"), text("a", "b", "c", "d", "e", "f", "g", "h"),
			text("0", "a", "b", "c", "d", "e", "f", "g", "h"), ""},
		{"deleted apart", base, text("a", "c", "d", "e", "f", "g"), text("a", "b", "c", "d", "e", "g"),
			text("a", "c", "d", "e", "g"), ""},
		{"deleted and changed apart", base, text("b", "c", "d", "e", "f", "g"), text("a", "b", "c", "d", "E", "f", "g"),
			text("b", "c", "d", "E", "f", "g"), ""},
		{"both changed one line", base, text("a", "b", "c", "X", "e", "f", "g"), text("a", "b", "c", "Y", "e", "f", "g"),
			nil, "both sides changed line 4"},
		{"overlapping ranges", base, text("a", "B", "C", "d", "e", "f", "g"), text("a", "b", "C2", "D", "e", "f", "g"),
			nil, "both sides changed lines 2-4"},
		{"different lines added at one place", base, text("a", "b", "x", "c", "d", "e", "f", "g"), text("a", "b", "y", "c", "d", "e", "f", "g"),
			nil, "both sides changed what follows line 2"},
		{"different first lines", base, text("x", "a", "b", "c", "d", "e", "f", "g"), text("y", "a", "b", "c", "d", "e", "f", "g"),
			nil, "both sides changed the start of the file"},
		{"two conflicts", base, text("A", "b", "c", "d", "e", "F", "g"), text("A2", "b", "c", "d", "e", "F2", "g"),
			nil, "both sides changed line 1, line 6"},
		{"last line loses its newline on one side", []byte("a\nb\nc\n"), []byte("a\nb\nc"), []byte("A\nb\nc\n"),
			[]byte("A\nb\nc"), ""},
		{"adjacent changes", base, text("A", "b", "c", "d", "e", "f", "g"), text("a", "B", "c", "d", "e", "f", "g"),
			nil, "both sides changed lines 1-2"},
		{"empty base, same text added", nil, text("x"), text("x"), text("x"), ""},
		{"empty base, different text", nil, text("x"), text("y"), nil, "both sides changed the start of the file"},
		{"all deleted on one side", base, nil, base, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Lines(tt.base, tt.clone, tt.booted)
			if tt.conflict != "" {
				var c *Conflict
				if !errors.As(err, &c) || c.Reason != tt.conflict {
					t.Fatalf("Lines = %q, %v; want conflict %q", got, err, tt.conflict)
				}
				return
			}
			if err != nil || string(got) != string(tt.want) {
				t.Fatalf("Lines = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestMatchIsCommonSubsequence checks match against a plain LCS length on
// small inputs: the diff must be a shortest one.
func TestMatchIsCommonSubsequence(t *testing.T) {
	pairs := [][2]string{
		{"abcabba", "cbabac"}, {"", "abc"}, {"abc", ""}, {"abc", "abc"},
		{"xaxbxc", "abc"}, {"aaaa", "aa"}, {"abcdef", "fedcba"}, {"axbycz", "xaybzc"},
	}
	for _, p := range pairs {
		a, b := strings.Split(p[0], ""), strings.Split(p[1], "")
		m := match(a, b)
		n, last := 0, -1
		for i, j := range m {
			if j < 0 {
				continue
			}
			if j <= last || a[i] != b[j] {
				t.Fatalf("match(%q, %q) = %v: not an increasing common subsequence", p[0], p[1], m)
			}
			last = j
			n++
		}
		if want := lcsLen(a, b); n != want {
			t.Errorf("match(%q, %q) = %v: %d lines in common, want %d", p[0], p[1], m, n, want)
		}
	}
}

func lcsLen(a, b []string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				d[i][j] = d[i+1][j+1] + 1
			} else {
				d[i][j] = max(d[i+1][j], d[i][j+1])
			}
		}
	}
	return d[0][0]
}

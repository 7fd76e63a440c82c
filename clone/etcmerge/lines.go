package etcmerge

import (
	"fmt"
	"slices"
	"strings"
)

// Lines merges three versions of a text file by line (diff3): the lines of
// base that neither side changed hold the merge together; between two of
// them, a stretch changed on one side only takes that change, a stretch
// changed the same way on both sides is taken once, and a stretch changed
// differently on both sides is a *Conflict naming its lines in base.
func Lines(base, clone, booted []byte) ([]byte, error) {
	o, a, b := splitLines(base), splitLines(clone), splitLines(booted)
	ma, mb := match(o, a), match(o, b)
	var out strings.Builder
	var conflicts []string
	// (io, ia, ib) is the first line of each after the last common line.
	io, ia, ib := 0, 0, 0
	flush := func(eo, ea, eb int) {
		ro, ra, rb := o[io:eo], a[ia:ea], b[ib:eb]
		switch {
		case slices.Equal(ra, ro):
			write(&out, rb)
		case slices.Equal(rb, ro), slices.Equal(ra, rb):
			write(&out, ra)
		default:
			conflicts = append(conflicts, span(io, eo))
		}
	}
	for i := range o {
		if ma[i] < 0 || mb[i] < 0 {
			continue
		}
		flush(i, ma[i], mb[i])
		out.WriteString(o[i])
		io, ia, ib = i+1, ma[i]+1, mb[i]+1
	}
	flush(len(o), len(a), len(b))
	if len(conflicts) > 0 {
		return nil, &Conflict{Reason: "both sides changed " + joinReasons(conflicts)}
	}
	return []byte(out.String()), nil
}

func write(out *strings.Builder, lines []string) {
	for _, l := range lines {
		out.WriteString(l)
	}
}

// span names base's lines [from, to) (0-based) in 1-based words.
func span(from, to int) string {
	switch {
	case to == from && from == 0:
		return "the start of the file"
	case to == from:
		return fmt.Sprintf("what follows line %d", from)
	case to == from+1:
		return fmt.Sprintf("line %d", to)
	}
	return fmt.Sprintf("lines %d-%d", from+1, to)
}

// joinReasons lists a few reasons and counts the rest.
func joinReasons(rs []string) string {
	const most = 3
	if len(rs) <= most {
		return strings.Join(rs, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(rs[:most], ", "), len(rs)-most)
}

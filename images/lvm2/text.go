package lvm2

import (
	"fmt"
	"strconv"
	"strings"
)

// The LVM2 text metadata format (lib/format_text in LVM2): sections
// `name { … }`, assignments `key = value` where a value is a string
// ("…" with \" and \\), an integer, or a list [v, v, …]; `#` comments.

// section is a parsed `{ … }`: its values and subsections, in order.
type section struct {
	values map[string]value
	subs   []named
}

type named struct {
	name string
	sec  *section
}

// value is a string, an int64 or a []value.
type value any

func (s *section) sub(name string) *section {
	for _, n := range s.subs {
		if n.name == name {
			return n.sec
		}
	}
	return nil
}

func (s *section) str(key string) (string, bool) {
	v, ok := s.values[key].(string)
	return v, ok
}

func (s *section) num(key string) (int64, bool) {
	v, ok := s.values[key].(int64)
	return v, ok
}

func (s *section) list(key string) []value {
	v, _ := s.values[key].([]value)
	return v
}

// strs is the strings of list key (status = ["READ", "WRITE"]).
func (s *section) strs(key string) []string {
	var out []string
	for _, v := range s.list(key) {
		if x, ok := v.(string); ok {
			out = append(out, x)
		}
	}
	return out
}

type parser struct {
	src  []byte
	pos  int
	line int
}

const maxDepth = 16

// parseText parses LVM2 text metadata into its top section.
func parseText(src []byte) (*section, error) {
	p := &parser{src: src, line: 1}
	sec, err := p.body(0, false)
	if err != nil {
		return nil, fmt.Errorf("line %d: %w", p.line, err)
	}
	return sec, nil
}

func (p *parser) skip() {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == '\n':
			p.line++
			p.pos++
		case c == ' ' || c == '\t' || c == '\r':
			p.pos++
		case c == '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_+.-/", c) >= 0
}

func (p *parser) name() (string, error) {
	start := p.pos
	for p.pos < len(p.src) && isNameByte(p.src[p.pos]) {
		p.pos++
	}
	if p.pos == start {
		if p.pos >= len(p.src) {
			return "", fmt.Errorf("unexpected end of metadata")
		}
		return "", fmt.Errorf("unexpected %q where a name should be", p.src[p.pos])
	}
	return string(p.src[start:p.pos]), nil
}

// body parses assignments and sections up to `}` (inner) or the end.
func (p *parser) body(depth int, inner bool) (*section, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("sections nested deeper than %d", maxDepth)
	}
	s := &section{values: map[string]value{}}
	for {
		p.skip()
		if p.pos >= len(p.src) {
			if inner {
				return nil, fmt.Errorf("a section is not closed (missing })")
			}
			return s, nil
		}
		if p.src[p.pos] == '}' {
			if !inner {
				return nil, fmt.Errorf("} without a section")
			}
			p.pos++
			return s, nil
		}
		n, err := p.name()
		if err != nil {
			return nil, err
		}
		p.skip()
		if p.pos >= len(p.src) {
			return nil, fmt.Errorf("%s: unexpected end of metadata", n)
		}
		switch p.src[p.pos] {
		case '{':
			p.pos++
			sub, err := p.body(depth+1, true)
			if err != nil {
				return nil, fmt.Errorf("in %s: %w", n, err)
			}
			s.subs = append(s.subs, named{n, sub})
		case '=':
			p.pos++
			v, err := p.value(0)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n, err)
			}
			s.values[n] = v
		default:
			return nil, fmt.Errorf("%s: unexpected %q (want = or {)", n, p.src[p.pos])
		}
	}
}

func (p *parser) value(depth int) (value, error) {
	p.skip()
	if p.pos >= len(p.src) {
		return nil, fmt.Errorf("unexpected end of metadata")
	}
	switch c := p.src[p.pos]; {
	case c == '"':
		return p.str()
	case c == '[':
		if depth > maxDepth {
			return nil, fmt.Errorf("lists nested deeper than %d", maxDepth)
		}
		p.pos++
		var l []value
		for {
			p.skip()
			if p.pos < len(p.src) && p.src[p.pos] == ']' {
				p.pos++
				return l, nil
			}
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
			p.skip()
			if p.pos < len(p.src) && p.src[p.pos] == ',' {
				p.pos++
			} else if p.pos >= len(p.src) || p.src[p.pos] != ']' {
				return nil, fmt.Errorf("a list is not closed (missing ])")
			}
		}
	case c == '-' || c >= '0' && c <= '9':
		start := p.pos
		p.pos++
		for p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || p.src[p.pos] == '.') {
			p.pos++
		}
		t := string(p.src[start:p.pos])
		if n, err := strconv.ParseInt(t, 10, 64); err == nil {
			return n, nil
		}
		if _, err := strconv.ParseFloat(t, 64); err == nil {
			return t, nil // floats occur in no field drd reads: kept as text
		}
		return nil, fmt.Errorf("%q is not a number", t)
	default:
		return nil, fmt.Errorf("unexpected %q where a value should be", c)
	}
}

func (p *parser) str() (string, error) {
	p.pos++ // the opening quote
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		p.pos++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if p.pos >= len(p.src) {
				return "", fmt.Errorf("a string is not closed")
			}
			c = p.src[p.pos]
			p.pos++
		case '\n':
			p.line++
		}
		b.WriteByte(c)
	}
	return "", fmt.Errorf("a string is not closed")
}

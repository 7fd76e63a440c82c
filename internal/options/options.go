// Package options parses a command's extended options: the -x name=value
// arguments, the name=value lines of a -X option file and the
// command.name=value defaults of drd.conf. Each command declares its
// options as data (a []Spec); Parse and ParseConf check every name, type
// and value against them and return typed Values. The package is pure: it
// reads no file and knows no command.
package options

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/drd-linux/drd/internal/columns"
)

// Type of an extended option's value.
type Type int

// The types an extended option can have.
const (
	Bool     Type = iota // true or false (also yes/no, 1/0); a bare name means true
	Int                  // a decimal integer
	Size                 // bytes, with an optional unit: 8G, 500M, 1.5T
	String               // any text, possibly empty
	List                 // repeatable: every occurrence adds one string
	Duration             // a positive Go duration: 90s, 5m, 1h30m
)

func (t Type) String() string {
	switch t {
	case Bool:
		return "bool"
	case Int:
		return "int"
	case Size:
		return "size"
	case String:
		return "string"
	case List:
		return "list"
	case Duration:
		return "duration"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Spec declares one extended option of a command.
type Spec struct {
	Name    string // as written before "=": image_size
	Type    Type
	Default string // as it would be written after "=": "false", "0", "8G"; "" for an empty list
	Help    string // one line

	// What a value must be, besides of its type: for a String, one of
	// Choices (if any); for an Int, Min to Max (unless both are 0).
	Choices  []string
	Min, Max int64
}

// Values are the parsed extended options of one command: the defaults of its
// Specs, then drd.conf, then the option file, then the command line.
type Values struct {
	specs map[string]Spec
	vals  map[string]any // bool, int64 (Int and Size), string, []string, time.Duration
	set   map[string]bool
}

// Parse checks the -x arguments of cmdline (each "name=value", or "name"
// alone for a bool) and the contents of a -X option file (nil if none)
// against specs, and returns the values of every option. Defaults are the
// command's entries of drd.conf (the zero Defaults if none).
//
// Precedence, lowest first: the Spec's built-in default, drd.conf, the -X
// file, the command line. An option takes the value of the highest source
// that gives it. For a List, the occurrences in one source replace those
// of lower sources as a whole (so "-x exclude=" empties it); occurrences
// in one source accumulate in order, empty values adding nothing.
//
// Errors name the option and the value; errors in the file are a
// *FileError, for the caller to add the file's name.
func Parse(specs []Spec, defaults Defaults, cmdline []string, file []byte) (Values, error) {
	v, err := newValues(specs)
	if err != nil {
		return Values{}, err
	}
	fromConf := map[string][]string{}
	for _, e := range defaults.entries {
		if err := v.assign(e.text, fromConf); err != nil {
			return Values{}, &FileError{Line: e.line, Err: err}
		}
	}
	entries, err := splitFile(file)
	if err != nil {
		return Values{}, err
	}
	fromFile := map[string][]string{}
	for _, e := range entries {
		if err := v.assign(e.text, fromFile); err != nil {
			return Values{}, &FileError{Line: e.line, Err: err}
		}
	}
	fromCmdline := map[string][]string{}
	for _, arg := range cmdline {
		if err := v.assign(arg, fromCmdline); err != nil {
			return Values{}, err
		}
	}
	return v, nil
}

// newValues checks specs and returns their built-in defaults.
func newValues(specs []Spec) (Values, error) {
	v := Values{
		specs: make(map[string]Spec, len(specs)),
		vals:  make(map[string]any, len(specs)),
		set:   make(map[string]bool),
	}
	for _, s := range specs {
		if _, dup := v.specs[s.Name]; dup || s.Name == "" {
			return Values{}, fmt.Errorf("option %q declared twice or without a name", s.Name)
		}
		v.specs[s.Name] = s
		var def any
		if s.Type == List {
			def = []string(nil)
			if s.Default != "" {
				def = []string{s.Default}
			}
		} else {
			var err error
			if def, err = parseValue(s, s.Default); err != nil {
				return Values{}, fmt.Errorf("default of %w", err)
			}
		}
		v.vals[s.Name] = def
	}
	return v, nil
}

// assign parses one "name=value" and stores it; lists accumulate in acc,
// which is per source so that a later source replaces an earlier one's list.
func (v Values) assign(text string, acc map[string][]string) error {
	name, value, hasValue := strings.Cut(text, "=")
	name = strings.TrimSpace(name)
	value = strings.TrimSpace(value)
	if name == "" {
		return fmt.Errorf("%q: want name=value", text)
	}
	s, ok := v.specs[name]
	if !ok {
		return fmt.Errorf("unknown option %q (in %q)", name, text)
	}
	if !hasValue {
		if s.Type != Bool {
			return fmt.Errorf("option %s needs a value: %s=VALUE", name, name)
		}
		value = "true"
	}
	if s.Type == List {
		if _, seen := acc[name]; !seen {
			acc[name] = []string{}
		}
		if value != "" {
			acc[name] = append(acc[name], value)
		}
		v.vals[name] = slices.Clone(acc[name])
		v.set[name] = true
		return nil
	}
	val, err := parseValue(s, value)
	if err != nil {
		return err
	}
	v.vals[name] = val
	v.set[name] = true
	return nil
}

func parseValue(s Spec, value string) (any, error) {
	switch s.Type {
	case Bool:
		switch strings.ToLower(value) {
		case "true", "yes", "1":
			return true, nil
		case "false", "no", "0":
			return false, nil
		}
		return nil, fmt.Errorf("option %s: invalid bool %q: want true or false", s.Name, value)
	case Int:
		n, err := parseInt(value)
		if err != nil {
			return nil, fmt.Errorf("option %s: invalid int %q: want a decimal number", s.Name, value)
		}
		if (s.Min != 0 || s.Max != 0) && (n < s.Min || n > s.Max) {
			return nil, fmt.Errorf("option %s: %d is out of range: want %d to %d", s.Name, n, s.Min, s.Max)
		}
		return n, nil
	case Size:
		n, err := ParseSize(value)
		if err != nil {
			return nil, fmt.Errorf("option %s: %w", s.Name, err)
		}
		return n, nil
	case String:
		if len(s.Choices) > 0 && !slices.Contains(s.Choices, value) {
			return nil, fmt.Errorf("option %s: invalid value %q: want %s", s.Name, value, orList(s.Choices))
		}
		return value, nil
	case Duration:
		d, err := time.ParseDuration(value)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("option %s: invalid duration %q: want a positive duration such as 90s, 5m or 1h30m", s.Name, value)
		}
		return d, nil
	}
	return nil, fmt.Errorf("option %s: unknown type %v", s.Name, s.Type)
}

// orList writes "a", "a or b", "a, b or c".
func orList(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// FileError is an error in an option file.
type FileError struct {
	Line int // of the first line of the (possibly continued) entry
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// IsSet reports whether the option was given in drd.conf, the -X file or
// on the command line.
func (v Values) IsSet(name string) bool {
	v.spec(name)
	return v.set[name]
}

// Bool returns the value of a Bool option. It panics if name is not a
// declared Bool option: that is a bug in the command, not a user error.
func (v Values) Bool(name string) bool { return get[bool](v, name, Bool) }

// Int returns the value of an Int option.
func (v Values) Int(name string) int64 { return get[int64](v, name, Int) }

// Size returns the value of a Size option, in bytes.
func (v Values) Size(name string) int64 { return get[int64](v, name, Size) }

// String returns the value of a String option.
func (v Values) String(name string) string { return get[string](v, name, String) }

// Duration returns the value of a Duration option.
func (v Values) Duration(name string) time.Duration { return get[time.Duration](v, name, Duration) }

// List returns the values of a List option, in order.
func (v Values) List(name string) []string {
	return slices.Clone(get[[]string](v, name, List))
}

func get[T any](v Values, name string, t Type) T {
	if s := v.spec(name); s.Type != t {
		panic(fmt.Sprintf("options: %s is an option of type %v, read as %v", name, s.Type, t))
	}
	return v.vals[name].(T)
}

func (v Values) spec(name string) Spec {
	s, ok := v.specs[name]
	if !ok {
		panic(fmt.Sprintf("options: %s is not a declared option", name))
	}
	return s
}

// WantsHelp reports whether the -x arguments ask for the list of extended
// options: "-x -?" or "-x ?".
func WantsHelp(cmdline []string) bool {
	return slices.ContainsFunc(cmdline, func(a string) bool { return a == "?" || a == "-?" })
}

// Help formats the list of extended options: name, type, default and help,
// sorted by name, one per line. A default that drd.conf sets (d) is shown
// as written there, with its lines: "40G (drd.conf line 3)".
func Help(specs []Spec, d Defaults) string {
	sorted := slices.Clone(specs)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	fromConf := d.Set()
	rows := [][]string{{"OPTION", "TYPE", "DEFAULT", "DESCRIPTION"}}
	for _, s := range sorted {
		def := s.Default
		if o, ok := fromConf[s.Name]; ok {
			def = confDefault(s, o)
		}
		if def == "" {
			def = `""`
		}
		rows = append(rows, []string{s.Name, s.Type.String(), def, s.Help})
	}
	return columns.Format(rows, "  ")
}

// confDefault writes what drd.conf sets for s as Help shows it: the value
// that counts and its line, "40G (drd.conf line 3)"; for a List every
// value, "/a, /b (drd.conf lines 4, 5)".
func confDefault(s Spec, o Origin) string {
	vals, lines := o.Values[len(o.Values)-1:], o.Lines[len(o.Lines)-1:]
	if s.Type == List {
		vals, lines = nil, o.Lines
		for _, v := range o.Values {
			if v != "" {
				vals = append(vals, v)
			}
		}
	}
	where := fmt.Sprintf("drd.conf line %d", lines[0])
	if len(lines) > 1 {
		var ns []string
		for _, l := range lines {
			ns = append(ns, fmt.Sprint(l))
		}
		where = "drd.conf lines " + strings.Join(ns, ", ")
	}
	shown := strings.Join(vals, ", ")
	if shown == "" {
		shown = `""`
	}
	return shown + " (" + where + ")"
}

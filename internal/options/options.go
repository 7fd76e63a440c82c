// Package options parses a command's extended options: the -x name=value
// arguments and the name=value lines of a -X option file. Each command
// declares its options as data (a []Spec); Parse checks every name, type and
// value against them and returns typed Values. The package is pure: it reads
// no file and knows no command.
package options

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Type of an extended option's value.
type Type int

// The types an extended option can have.
const (
	Bool   Type = iota // true or false (also yes/no, 1/0); a bare name means true
	Int                // a decimal integer
	Size               // bytes, with an optional unit: 8G, 500M, 1.5T
	String             // any text, possibly empty
	List               // repeatable: every occurrence adds one string
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
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Spec declares one extended option of a command.
type Spec struct {
	Name    string // as written before "=": image_size
	Type    Type
	Default string // as it would be written after "=": "false", "0", "8G"; "" for an empty list
	Help    string // one line
}

// Values are the parsed extended options of one command: the defaults of its
// Specs, then the option file, then the command line.
type Values struct {
	specs map[string]Spec
	vals  map[string]any // bool, int64 (Int and Size), string, []string
	set   map[string]bool
}

// Parse checks the -x arguments of cmdline (each "name=value", or "name"
// alone for a bool) and the contents of a -X option file (nil if none)
// against specs, and returns the values of every option.
//
// The command line wins over the file: an option given on the command line
// takes that value whatever the file says. For a List, the occurrences on the
// command line replace the file's list as a whole (so "-x exclude=" empties
// it); occurrences in one source accumulate in order, empty values adding
// nothing.
//
// Errors name the option and the value; errors in the file are a
// *FileError, for the caller to add the file's name.
func Parse(specs []Spec, cmdline []string, file []byte) (Values, error) {
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
		return n, nil
	case Size:
		n, err := ParseSize(value)
		if err != nil {
			return nil, fmt.Errorf("option %s: %w", s.Name, err)
		}
		return n, nil
	case String:
		return value, nil
	}
	return nil, fmt.Errorf("option %s: unknown type %v", s.Name, s.Type)
}

// FileError is an error in an option file.
type FileError struct {
	Line int // of the first line of the (possibly continued) entry
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// IsSet reports whether the option was given in the file or on the command line.
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

// List returns the values of a List option, in order.
func (v Values) List(name string) []string {
	return slices.Clone(get[[]string](v, name, List))
}

func get[T any](v Values, name string, t Type) T {
	if s := v.spec(name); s.Type != t {
		panic(fmt.Sprintf("options: %s is a %v option, read as %v", name, s.Type, t))
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
// sorted by name, one per line.
func Help(specs []Spec) string {
	sorted := slices.Clone(specs)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	rows := [][]string{{"OPTION", "TYPE", "DEFAULT", "DESCRIPTION"}}
	for _, s := range sorted {
		def := s.Default
		if def == "" {
			def = `""`
		}
		rows = append(rows, []string{s.Name, s.Type.String(), def, s.Help})
	}
	return table(rows)
}

// table aligns rows in columns separated by two spaces, indented by two.
func table(rows [][]string) string {
	var width []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		line := "  "
		for i, c := range r {
			if i < len(r)-1 {
				c += strings.Repeat(" ", width[i]-len(c)+2)
			}
			line += c
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return b.String()
}

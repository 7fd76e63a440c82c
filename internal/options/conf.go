package options

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Conf is a parsed drd.conf: the defaults it sets, per command. Its
// lines are "command.name=value" (after HP SD-UX's defaults files:
// swinstall.autoreboot=true), with the comments and continuations of an
// option file: clone.overwrite=true, runcmd.depot=/srv/debs. A subcommand
// is named with a dot too: isl.install.image=PATH (option names have no
// dot, so the last one ends the command).
type Conf struct {
	sections map[string]Defaults
}

// Defaults are one command's entries of drd.conf, checked; the zero
// Defaults set nothing.
type Defaults struct {
	entries []entry // "name=value" without the command, and its line
}

// ParseConf checks a drd.conf against the extended options of every
// command (specs by command name) and returns its defaults. The whole
// file is checked, whichever command reads it, so that a mistake shows the
// first time drd runs, not in the maintenance window of the command it
// concerns. Errors are a *FileError naming the line and the option as
// written (clone.image_size).
func ParseConf(file []byte, specs map[string][]Spec) (Conf, error) {
	entries, err := splitFile(file)
	if err != nil {
		return Conf{}, err
	}
	checkers := map[string]Values{}
	c := Conf{sections: map[string]Defaults{}}
	acc := map[string][]string{}
	for _, e := range entries {
		name, value, hasValue := strings.Cut(e.text, "=")
		cmd, opt, ok := cutLast(strings.TrimSpace(name), ".")
		if !ok || cmd == "" || opt == "" {
			return Conf{}, &FileError{Line: e.line, Err: fmt.Errorf("%q: want command.option=value, as clone.overwrite=true", e.text)}
		}
		if _, known := specs[cmd]; !known {
			return Conf{}, &FileError{Line: e.line, Err: fmt.Errorf("%q: unknown command %q: want one of %s", e.text, cmd, commandList(specs))}
		}
		check, ok := checkers[cmd]
		if !ok {
			if check, err = newValues(qualified(cmd, specs[cmd])); err != nil {
				return Conf{}, fmt.Errorf("drd %s: %w", cmd, err)
			}
			checkers[cmd] = check
		}
		// Checked under its written name, so that errors say clone.overwite.
		if err := check.assign(e.text, acc); err != nil {
			return Conf{}, &FileError{Line: e.line, Err: err}
		}
		text := opt
		if hasValue {
			text += "=" + value
		}
		d := c.sections[cmd]
		d.entries = append(d.entries, entry{line: e.line, text: text})
		c.sections[cmd] = d
	}
	return c, nil
}

// cutLast cuts s around the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// For returns the defaults drd.conf sets for command.
func (c Conf) For(command string) Defaults { return c.sections[command] }

// Set returns, for each option the defaults set, the values as written
// (several for a List) and the lines, in the order of the file.
func (d Defaults) Set() map[string]Origin {
	out := map[string]Origin{}
	for _, e := range d.entries {
		name, value, _ := strings.Cut(e.text, "=")
		name = strings.TrimSpace(name)
		o := out[name]
		o.Values = append(o.Values, strings.TrimSpace(value))
		o.Lines = append(o.Lines, e.line)
		out[name] = o
	}
	return out
}

// Origin is where drd.conf sets an option: the values as written and
// their lines.
type Origin struct {
	Values []string
	Lines  []int
}

// qualified renames specs to command.name, for errors in drd.conf's terms.
func qualified(cmd string, specs []Spec) []Spec {
	out := slices.Clone(specs)
	for i := range out {
		out[i].Name = cmd + "." + out[i].Name
	}
	return out
}

func commandList(specs map[string][]Spec) string {
	var names []string
	for n := range specs {
		names = append(names, n)
	}
	sort.Strings(names)
	return orList(names)
}

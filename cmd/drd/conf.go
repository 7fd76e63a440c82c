package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/drd-linux/drd/internal/options"
)

// confFile is drd.conf, the defaults of the extended options, in the image
// drd acts on (--root).
const confFile = "etc/drd/drd.conf"

func confPath(root string) string { return filepath.Join(root, confFile) }

// readConf reads and checks the drd.conf of root against the extended
// options of every command. A missing file sets nothing; any error names
// the file and the line, and stops the command before it does anything.
func readConf(cmdName, root string) (options.Conf, error) {
	path := confPath(root)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return options.Conf{}, nil
	}
	if err != nil {
		return options.Conf{}, &usageError{cmd: cmdName, err: fmt.Errorf("reading the defaults file: %w", err)}
	}
	conf, err := options.ParseConf(data, confSpecs())
	if err != nil {
		return options.Conf{}, &usageError{cmd: cmdName, err: fmt.Errorf("defaults file %s, %w", path, err),
			hint: fmt.Sprintf("Correct or remove that line of %s: drd runs no command with extended options while it is wrong.", path)}
	}
	return conf, nil
}

// confSpecs are the extended options of every command and subcommand
// that has some, by their names in drd.conf (confName).
func confSpecs() map[string][]options.Spec {
	specs := map[string][]options.Spec{}
	var add func(cs []*command)
	add = func(cs []*command) {
		for _, c := range cs {
			if len(c.options) > 0 {
				specs[confName(c.name)] = c.options
			}
			add(c.subcommands)
		}
	}
	add(sortedCommands())
	return specs
}

// confName is a command's name in drd.conf: isl.install for "isl install".
func confName(name string) string { return strings.ReplaceAll(name, " ", ".") }

// confNote says which defaults drd.conf gave a command, for the log:
// "defaults from /etc/drd/drd.conf: overwrite=true (line 2), ...".
func confNote(root string, d options.Defaults) string {
	set := d.Set()
	if len(set) == 0 {
		return ""
	}
	var names []string
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		o := set[n]
		for i, v := range o.Values {
			parts = append(parts, fmt.Sprintf("%s=%s (line %d)", n, v, o.Lines[i]))
		}
	}
	return fmt.Sprintf("defaults from %s: %s", confPath(root), strings.Join(parts, ", "))
}

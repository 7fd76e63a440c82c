package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/drd-linux/drd/internal/manpage"
	"github.com/drd-linux/drd/internal/options"
)

// generate is drd's own documentation, made from the command tree so that
// it cannot drift from it: the man pages (drd(8), one per command) and the
// commented drd.conf, for the package (packaging/, make deb). The shell
// completions come from urfave/cli's "drd completion bash|zsh|fish" on
// the same tree. Hidden: run by the build, not by administrators; it is a
// plain urfave/cli command (no banner, log or lock: it touches nothing of
// the system).
func generateCLI() *cli.Command {
	return &cli.Command{
		Name:      "generate",
		Usage:     "write drd's man pages (--man DIR) and its commented drd.conf (--conf FILE) from the command definitions",
		Hidden:    true,
		ArgsUsage: " ",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "man", Usage: "write drd.8 and drd-COMMAND.8 into `DIR`"},
			&cli.StringFlag{Name: "conf", Usage: "write the commented drd.conf to `FILE`"},
			&cli.StringFlag{Name: "date", Usage: "the date on the man pages (`YYYY-MM-DD`; the package's changelog date)"},
		},
		OnUsageError: onUsageError,
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.String("man") == "" && cmd.String("conf") == "" {
				return usagef("drd generate", "nothing to do: give --man DIR and/or --conf FILE")
			}
			if dir := cmd.String("man"); dir != "" {
				if err := writeManPages(cmd.Root(), dir, cmd.String("date")); err != nil {
					return err
				}
			}
			if file := cmd.String("conf"); file != "" {
				if err := os.WriteFile(file, []byte(confText()), 0o644); err != nil {
					return fmt.Errorf("writing the commented drd.conf: %w", err)
				}
			}
			return nil
		},
	}
}

// writeManPages writes the pages of manPages into dir.
func writeManPages(root *cli.Command, dir, date string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing the man pages: %w", err)
	}
	for _, p := range manPages(root, date) {
		path := filepath.Join(dir, p.Name+"."+p.Section)
		if err := os.WriteFile(path, []byte(p.Roff()), 0o644); err != nil {
			return fmt.Errorf("writing the man page %s: %w", path, err)
		}
	}
	return nil
}

// drdCommand is the definition a cli.Command was built from (nil for
// urfave/cli's own: help, completion, and for generate).
func drdCommand(c *cli.Command) *command {
	d, _ := c.Metadata["drd"].(*command)
	return d
}

// manPages are drd(8) and one page per command of drd's own (a group's
// subcommands each get theirs: drd-isl-install(8)), hidden ones too
// (boot-check, which the unit runs, is worth a page).
func manPages(root *cli.Command, date string) []*manpage.Page {
	top := &manpage.Page{
		Name: "drd", Section: "8", Date: date, Source: "drd " + versionString(), Manual: "System Administration",
		Short:    "Dynamic Root Disk: clone the running system, patch the copy, boot it",
		Synopsis: []string{root.UsageText},
		Description: []string{
			"drd keeps a second, inactive copy of the operating system. drd clone copies the critical file systems " +
				"of the booted system image (/, /boot, /boot/efi and every file system on the same disk or LVM volume group) " +
				"to another disk or an image file; drd runcmd patches the copy in a jail while the booted system keeps serving; " +
				"drd activate makes it the next boot target, and a trial boot that fails falls back by itself.",
			"Every command takes -q, -v, -x name=value and -X FILE; those that change the system take -p (preview: every check, no change). " +
				"-x -? lists a command's extended options; /etc/drd/drd.conf sets their defaults.",
		},
		Options: flagItems(root.Flags),
	}
	var pages []*manpage.Page
	var walk func(cs []*cli.Command)
	walk = func(cs []*cli.Command) {
		for _, c := range cs {
			d := drdCommand(c)
			if d == nil {
				continue
			}
			if len(c.Commands) > 0 {
				walk(c.Commands)
				continue
			}
			pages = append(pages, commandPage(c, d, date))
		}
	}
	walk(root.Commands)
	for _, p := range pages {
		top.Commands = append(top.Commands, manpage.Item{Term: strings.ReplaceAll(strings.TrimPrefix(p.Name, "drd-"), "-", " "), Text: p.Short})
		top.SeeAlso = append(top.SeeAlso, p.Name+"(8)")
	}
	top.Sections = append(top.Sections, commonSections()...)
	return append([]*manpage.Page{top}, pages...)
}

// commandPage is the page of one command: drd-clone(8).
func commandPage(c *cli.Command, d *command, date string) *manpage.Page {
	name := "drd " + d.name
	synopsis := name + " [options]"
	if d.argsUsage != "" {
		synopsis += " " + d.argsUsage
	}
	p := &manpage.Page{
		Name: "drd-" + strings.ReplaceAll(d.name, " ", "-"), Section: "8", Date: date,
		Source: "drd " + versionString(), Manual: "System Administration",
		Short:    d.usage,
		Synopsis: []string{synopsis},
		Options:  flagItems(c.Flags),
		SeeAlso:  []string{"drd(8)"},
	}
	desc := d.usage + "."
	if d.hidden {
		desc += " Run by the system, not by people: it is left out of drd -h."
	}
	if d.locks {
		desc += " It changes the system: it needs root and holds drd's lock while it runs."
	}
	p.Description = []string{desc}
	if len(d.options) > 0 {
		specs := slices.Clone(d.options)
		slices.SortFunc(specs, func(a, b options.Spec) int { return strings.Compare(a.Name, b.Name) })
		var items []manpage.Item
		for _, s := range specs {
			def := s.Default
			if def == "" {
				def = `""`
			}
			text := fmt.Sprintf("%s (%s, default %s)", s.Help, s.Type, def)
			if len(s.Choices) > 0 {
				text += "; one of " + strings.Join(s.Choices, ", ")
			}
			items = append(items, manpage.Item{Term: "-x " + s.Name + "=" + strings.ToUpper(s.Type.String()), Text: text})
		}
		p.Sections = append(p.Sections, manpage.Section{
			Title: "EXTENDED OPTIONS",
			Paras: []string{fmt.Sprintf("Given with -x name=value, as name=value lines in a -X file, or as %s.name=value lines in /etc/drd/drd.conf (the defaults); -x wins over -X, and both over drd.conf.", confName(d.name))},
			Items: items,
		})
	}
	p.Sections = append(p.Sections, commonSections()...)
	return p
}

// flagItems describes flags: "-p", "-x name=value", "--root DIR".
func flagItems(flags []cli.Flag) []manpage.Item {
	var items []manpage.Item
	for _, f := range flags {
		doc, ok := f.(cli.DocGenerationFlag)
		if !ok {
			continue
		}
		placeholder, usage := unquoteUsage(doc.GetUsage())
		if placeholder == "" && doc.TakesValue() {
			placeholder = "VALUE"
		}
		var names []string
		for _, n := range f.Names() {
			dash := "-"
			if len(n) > 1 {
				dash = "--"
			}
			term := dash + n
			if placeholder != "" {
				term += " " + placeholder
			}
			names = append(names, term)
		}
		items = append(items, manpage.Item{Term: strings.Join(names, ", "), Text: usage})
	}
	return items
}

// unquoteUsage splits urfave/cli's usage text "act on `DIR`" into the
// placeholder (DIR) and the text without the back quotes.
func unquoteUsage(usage string) (placeholder, text string) {
	i := strings.Index(usage, "`")
	if i < 0 {
		return "", usage
	}
	j := strings.Index(usage[i+1:], "`")
	if j < 0 {
		return "", usage
	}
	placeholder = usage[i+1 : i+1+j]
	return placeholder, usage[:i] + placeholder + usage[i+1+j+1:]
}

// commonSections are the end of every page: exit status and files.
func commonSections() []manpage.Section {
	return []manpage.Section{
		{Title: "EXIT STATUS", Items: []manpage.Item{
			{Term: "0", Text: "success"},
			{Term: "1", Text: "error: the command failed, or its command line was wrong"},
			{Term: "2", Text: "warning: the command succeeded, with warnings"},
		}},
		{Title: "FILES", Items: []manpage.Item{
			{Term: "/etc/drd/drd.conf", Text: "defaults of the extended options, command.option=value lines"},
			{Term: "/etc/drd/checks.d/", Text: "health checks run by the boot check of a trial boot"},
			{Term: "/var/opt/drd/drd.log", Text: "the main log: every command's banner, steps and result"},
			{Term: "/var/opt/drd/log/", Text: "session logs (25 kept) and the event log"},
			{Term: "/usr/share/doc/drd/", Text: "the documentation"},
		}},
	}
}

// confText is the commented drd.conf the package installs: every extended
// option of every command, commented out at its default.
func confText() string {
	var b strings.Builder
	b.WriteString(`# /etc/drd/drd.conf: defaults of drd's extended options.
#
# A line command.option=value sets the default of "-x option=value" for that
# command (isl.install for drd isl install); -X files and -x win over it.
# '#' starts a comment; a '\' at the end of a line continues it. drd refuses
# to run a command with extended options while a line here is wrong.
# Every option is listed below, commented out at its default; "drd COMMAND
# -x -?" shows the defaults in force. See drd(8) and drd-COMMAND(8).
`)
	specs := confSpecs()
	var names []string
	for n := range specs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(&b, "\n# drd %s\n", strings.ReplaceAll(n, ".", " "))
		ss := slices.Clone(specs[n])
		slices.SortFunc(ss, func(a, b options.Spec) int { return strings.Compare(a.Name, b.Name) })
		for _, s := range ss {
			help := s.Help
			if len(s.Choices) > 0 {
				help += "; one of " + strings.Join(s.Choices, ", ")
			}
			fmt.Fprintf(&b, "#   %s (%s): %s\n#%s.%s=%s\n", s.Name, s.Type, help, n, s.Name, s.Default)
		}
	}
	return b.String()
}

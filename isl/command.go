// Package isl is drd's STAGEISL: the boot-time utility of the ISL
// initramfs (a u-root image) that lists the system images when no image
// boots, sets the boot target and boots an image (docs/isl.md); and the
// pure pieces its build and installation need (the kernel modules it
// must carry).
package isl

import (
	"fmt"
	"strings"
)

// Command is one parsed line of the STAGEISL prompt.
type Command struct {
	Name string // status, list, set, boot, shell, log, reboot, help, exit
	Arg  string // the image of set, boot and log; "" for none
}

// verb describes one command of the prompt.
type verb struct {
	name     string
	args     string // for help: "IMAGE", "[IMAGE]", ""
	min, max int
	help     string
}

var verbs = []verb{
	{"status", "", 0, 0, "the image the next boot uses, any trial, the image booted last"},
	{"list", "", 0, 0, "every image on every disk: name, disk, state, created, last good boot"},
	{"set", "IMAGE", 1, 1, "make IMAGE the boot target, as drd activate does"},
	{"boot", "[IMAGE]", 0, 1, "start IMAGE (default: the boot target) now, by kexec"},
	{"shell", "", 0, 0, "a shell (gosh); exit returns here"},
	{"log", "IMAGE", 1, 1, "the end of IMAGE's drd.log"},
	{"reboot", "", 0, 0, "restart the machine"},
	{"help", "", 0, 0, "this list"},
	{"exit", "", 0, 0, "leave STAGEISL"},
}

// Parse reads one line of input. Commands are case-insensitive, as on
// HP's ISL; an empty line is Command{} and no error.
func Parse(line string) (Command, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return Command{}, nil
	}
	name := strings.ToLower(f[0])
	for _, v := range verbs {
		if v.name != name {
			continue
		}
		n := len(f) - 1
		if n < v.min || n > v.max {
			return Command{}, fmt.Errorf("usage: %s", strings.TrimSpace(v.name+" "+v.args))
		}
		c := Command{Name: name}
		if n == 1 {
			c.Arg = f[1]
			if !validImageName(c.Arg) {
				return Command{}, fmt.Errorf("%s: %q is no image name (sysimage_NNN)", name, c.Arg)
			}
		}
		return c, nil
	}
	return Command{}, fmt.Errorf("unknown command %q; help lists the commands", f[0])
}

// validImageName reports whether s is sysimage_NNN.
func validImageName(s string) bool {
	rest, ok := strings.CutPrefix(s, "sysimage_")
	if !ok || len(rest) != 3 {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Help is the text of the help command.
func Help() string {
	var b strings.Builder
	for _, v := range verbs {
		fmt.Fprintf(&b, "  %-14s %s\n", strings.TrimSpace(v.name+" "+v.args), v.help)
	}
	return b.String()
}

package runcmd

import (
	"path/filepath"
	"slices"
	"strings"
)

// Ops is what a command line says it will do to packages, as far as drd
// reads it before the command runs: the package files it installs and
// the installed packages it removes or reconfigures.
type Ops struct {
	Debs        []string // .deb files dpkg installs (paths in the jail)
	RPMs        []string // .rpm files rpm, dnf, yum or zypper install
	Removes     []string // packages dpkg removes or purges
	RPMRemoves  []string // packages rpm erases
	Reconfigure []string // packages dpkg-reconfigure configures again
	// Apt: apt or apt-get with a subcommand that changes packages; its
	// hook sees apt's own solution.
	Apt bool
}

// aptChanging are the subcommands of apt and apt-get that install or
// remove packages.
var aptChanging = []string{"install", "reinstall", "remove", "purge", "upgrade", "dist-upgrade", "full-upgrade",
	"autoremove", "autopurge", "build-dep", "satisfy", "source"}

// aptValued are apt's options that take the next word as their value.
var aptValued = []string{"-o", "--option", "-c", "--config-file", "-t", "--target-release", "--default-release", "-a", "--host-architecture"}

// ParseOps reads argv for the package operations drd judges before the
// command runs.
func ParseOps(argv []string) Ops {
	var o Ops
	if len(argv) == 0 {
		return o
	}
	args := argv[1:]
	switch filepath.Base(argv[0]) {
	case "dpkg":
		mode := ""
		for _, a := range args {
			switch {
			case a == "-i" || a == "--install" || a == "--unpack" || shortHas(a, 'i'):
				mode = "install"
			case a == "-r" || a == "--remove" || a == "-P" || a == "--purge" || shortHas(a, 'r') || shortHas(a, 'P'):
				mode = "remove"
			case strings.HasPrefix(a, "-"):
			case mode == "install" && strings.HasSuffix(a, ".deb"):
				o.Debs = append(o.Debs, a)
			case mode == "remove":
				o.Removes = append(o.Removes, a)
			}
		}
	case "dpkg-reconfigure":
		for _, a := range args {
			if !strings.HasPrefix(a, "-") {
				o.Reconfigure = append(o.Reconfigure, a)
			}
		}
	case "rpm":
		mode := ""
		for _, a := range args {
			switch {
			case a == "--query" || a == "--verify" || shortHas(a, 'q') || shortHas(a, 'V'):
				mode = "" // rpm -qi is a query, not an install
			case a == "--install" || a == "--upgrade" || a == "--freshen" || a == "--reinstall" || shortHas(a, 'i') || shortHas(a, 'U') || shortHas(a, 'F'):
				mode = "install"
			case a == "--erase" || shortHas(a, 'e'):
				mode = "remove"
			case strings.HasPrefix(a, "-"):
			case mode == "install" && strings.HasSuffix(a, ".rpm"):
				o.RPMs = append(o.RPMs, a)
			case mode == "remove":
				o.RPMRemoves = append(o.RPMRemoves, a)
			}
		}
	case "dnf", "yum", "zypper":
		for _, a := range args {
			if strings.HasSuffix(a, ".rpm") && !strings.HasPrefix(a, "-") {
				o.RPMs = append(o.RPMs, a)
			}
		}
	case "apt", "apt-get":
		o.Apt = slices.Contains(aptChanging, aptSubcommand(args))
	}
	return o
}

// aptSubcommand is the first word of apt's arguments that is neither an
// option nor an option's value.
func aptSubcommand(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case slices.Contains(aptValued, a):
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return a
		}
	}
	return ""
}

// shortHas reports whether a is a bundle of short options holding c
// (-ivh holds i).
func shortHas(a string, c byte) bool {
	return len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.IndexByte(a[1:], c) >= 0
}

package safety

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
)

// commands are the programs drd runcmd runs by default: package
// managers and the tools that rebuild an image's boot files. Each acts on
// files only when no service manager is running (the runcmd environment
// has none). A nil subcommand list allows every subcommand.
var commands = map[string][]string{
	"apt-get": nil, "apt": nil, "dpkg": nil, "dpkg-reconfigure": nil, "debconf-set-selections": nil,
	"update-initramfs": nil, "dracut": nil, "depmod": nil, "update-grub": nil, "grub-mkconfig": nil, "kernel-install": nil,
	"dnf": nil, "yum": nil, "rpm": nil, "zypper": nil,
	// systemctl only for what it does on files, offline.
	"systemctl": {"enable", "disable", "mask", "unmask", "preset", "is-enabled"},
}

// CheckCommand reports whether argv is a command drd runcmd runs. The
// program is judged by its base name, so /usr/bin/apt-get is apt-get.
func CheckCommand(argv []string) error {
	if len(argv) == 0 {
		return fmt.Errorf("no command given: say what to run, e.g. drd runcmd apt-get install -y PACKAGE")
	}
	name := path.Base(argv[0])
	subs, ok := commands[name]
	if !ok {
		return fmt.Errorf("%s is not a DRD-safe command; drd runcmd runs %s (-x allow_unsafe=true runs it anyway)", name, strings.Join(SafeCommands(), ", "))
	}
	if subs == nil {
		return nil
	}
	for _, a := range argv[1:] {
		if strings.HasPrefix(a, "-") {
			continue
		}
		if slices.Contains(subs, a) {
			return nil
		}
		return fmt.Errorf("%s %s is not DRD-safe; in the runcmd environment %s runs only %s (-x allow_unsafe=true runs it anyway)", name, a, name, strings.Join(subs, ", "))
	}
	return fmt.Errorf("%s without a subcommand is not DRD-safe; give one of %s", name, strings.Join(subs, ", "))
}

// SafeCommands lists the programs CheckCommand accepts, sorted.
func SafeCommands() []string {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

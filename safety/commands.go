package safety

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
)

// commands are the programs drd runcmd runs: package managers and the
// tools that rebuild an image's boot files. Each was checked to act on
// files only when no service manager is running (the runcmd environment
// has none). A nil subcommand list allows every subcommand.
var commands = map[string][]string{
	"apt": nil, "apt-get": nil, "apt-cache": nil, "apt-mark": nil, "apt-config": nil,
	"dpkg": nil, "dpkg-query": nil, "dpkg-reconfigure": nil, "dpkg-divert": nil,
	"debconf-set-selections": nil, "debconf-show": nil, "update-alternatives": nil,
	"dnf": nil, "yum": nil, "rpm": nil, "zypper": nil,
	"update-initramfs": nil, "mkinitramfs": nil, "dracut": nil, "kernel-install": nil,
	"update-grub": nil, "grub-mkconfig": nil, "grub2-mkconfig": nil, "depmod": nil, "ldconfig": nil,
	// systemctl only for what it does on files, offline.
	"systemctl": {"enable", "disable", "mask", "unmask", "preset", "preset-all", "is-enabled",
		"list-unit-files", "set-default", "get-default", "cat", "add-wants", "add-requires", "revert"},
	// Looking is always safe.
	"cat": nil, "ls": nil, "true": nil,
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
		return fmt.Errorf("%s is not a DRD-safe command; drd runcmd runs: %s", name, strings.Join(SafeCommands(), ", "))
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
		return fmt.Errorf("%s %s is not DRD-safe: it talks to the running service manager; in the runcmd environment %s runs only %s", name, a, name, strings.Join(subs, ", "))
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

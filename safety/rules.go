package safety

import (
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Rule is one problem area of the white paper, as a command a maintainer
// script may run. A Neutralized rule names what of the runcmd environment
// makes the command harmless; an Unsafe one says why nothing can.
type Rule struct {
	Name  string `json:"rule"`
	Level Level  `json:"level"`
	What  string `json:"what"` // what the command would do to the booted system
	Why   string `json:"why"`  // why the runcmd environment stops it, or cannot
	// Match tells whether a simple command of a script line falls under the rule.
	Match func(c Cmd) bool `json:"-"`
}

// Rules are the problem areas, worst first: a command is reported under
// the first rule it matches.
var Rules = []Rule{
	{Name: "firmware-flash", Level: Unsafe,
		What: "flashes firmware",
		Why:  "the hardware and its firmware are shared with the booted system: a firmware patch is never DRD-safe (white paper 3.4)",
		Match: anyOf(
			prog("fwupdmgr", "install", "update", "upgrade", "reinstall", "downgrade", "install-blob", "activate", "switch-branch"),
			prog("fwupdtool", "install", "update", "install-blob", "reinstall", "activate", "switch-branch"),
			prog("fwupdate", ""), prog("flashrom", ""), prog("fwflash", ""), prog("mstflint", ""), prog("mlxfwmanager", ""),
			prog("afulnx_64", ""), prog("afulnx", ""), prog("hpsum", ""), prog("smartupdate", ""), prog("dsu", ""),
			prog("nvme", "fw-download", "fw-commit", "fw-activate"), prog("intelmas", "load"), prog("isdct", "load"),
			flag("hdparm", "--fwdownload", "--fwdownload-mode3", "--fwdownload-mode3-max", "--fwdownload-mode7"),
			func(c Cmd) bool { return c.Name == "ipmitool" && c.hasWord("hpm") && c.hasWord("upgrade") },
		)},
	{Name: "efi-variables", Level: Unsafe,
		What: "writes EFI variables",
		Why:  "the firmware's boot entries and settings belong to the booted system: both images share them",
		Match: anyOf(
			flag("efibootmgr", "-c", "--create", "-C", "--create-only", "-B", "--delete-bootnum", "-o", "--bootorder",
				"-O", "--delete-bootorder", "-n", "--bootnext", "-N", "--delete-bootnext", "-a", "--active", "-A", "--inactive",
				"-t", "--timeout", "-T", "--delete-timeout", "-w", "--write-signature"),
			flag("efivar", "-w", "--write", "-a", "--append"),
			prog("mokutil", "--import", "--delete", "--password", "--reset", "--disable-validation", "--enable-validation",
				"--set-verbosity", "--set-fallback-noreboot", "--set-sbat-policy", "--trust-mok", "--untrust-mok", "--revoke-import", "--revoke-delete"),
			prog("bootctl", "install", "update", "remove", "set-default", "set-oneshot", "set-timeout", "set-timeout-oneshot", "random-seed"),
			writes(`^/sys/firmware/efi/(efi)?vars(/|$)`),
		)},
	{Name: "boot-record", Level: Unsafe,
		What: "writes a boot record or a partition table of a disk",
		Why:  "the disks named are the booted system's: its boot loader and partitions, which the runcmd environment must never change",
		Match: anyOf(
			// by its path, grub-install is not drd's shim (boot-loader below)
			func(c Cmd) bool { return c.Name == "grub-install" && c.Prog != c.Name && c.arg(isDisk) },
			func(c Cmd) bool { return slices.Contains(diskTools, c.Name) && c.arg(isDisk) },
			prog("install-mbr", ""), prog("lilo", ""),
			writes(diskPattern),
		)},
	{Name: "daemon-request", Level: Unsafe,
		What: "asks a daemon of the booted system over the network",
		Why:  "the script expects a daemon of this machine to act on the request: with -x network=host the booted system's daemon answers and acts on it (white paper 3.1.2); in the runcmd environment's own network (the default) nothing answers and the package's set-up is left undone",
		Match: anyOf(
			prog("rndc", ""), prog("redis-cli", ""),
			func(c Cmd) bool {
				return slices.Contains([]string{"mysql", "mariadb", "mysqladmin", "mariadb-admin", "psql", "curl", "wget", "ldapmodify", "ldapadd"}, c.Name) &&
					c.arg(func(a string) bool { return localhost().MatchString(a) })
			},
		)},
	{Name: "boot-loader", Level: Neutralized,
		What: "installs the boot loader (on the disks debconf names: the booted system's) or regenerates grub.cfg",
		Why: "in the runcmd environment grub-install, update-grub and grub-mkconfig are drd's shims, which say what they skip; " +
			"after the command drd installs GRUB on the image's own disk and the image regenerates its grub.cfg at its first boot",
		Match: anyOf(
			func(c Cmd) bool { return slices.Contains(ShimmedBootTools, c.Prog) },
			func(c Cmd) bool { return c.Name == "run_grub_install" })},
	{Name: "service-control", Level: Neutralized,
		What: "starts, stops or restarts a daemon",
		Why:  "policy-rc.d denies it (101) and no service manager runs in the runcmd environment (SYSTEMD_OFFLINE=1); a daemon started anyway is killed when the command ends",
		Match: anyOf(
			prog("invoke-rc.d", ""), prog("deb-systemd-invoke", ""), prog("start-stop-daemon", ""),
			prog("systemctl", "start", "stop", "restart", "reload", "try-restart", "reload-or-restart", "try-reload-or-restart",
				"condrestart", "kill", "isolate", "daemon-reload", "daemon-reexec", "reexec"),
			func(c Cmd) bool { return c.Name == "service" && len(c.Args) >= 2 },
			func(c Cmd) bool { return strings.HasPrefix(c.Prog, "/etc/init.d/") && len(c.Args) >= 1 },
		)},
	{Name: "kill", Level: Neutralized,
		What:  "signals processes",
		Why:   "the runcmd environment has its own PID namespace: only its own processes can be signalled (white paper 3.1.1)",
		Match: anyOf(prog("kill", ""), prog("killall", ""), prog("pkill", ""), prog("killall5", ""), flag("fuser", "-k", "--kill"))},
	{Name: "kernel-module", Level: Neutralized,
		What: "loads or unloads a kernel module",
		Why:  "CAP_SYS_MODULE is dropped",
		Match: anyOf(
			func(c Cmd) bool {
				return c.Name == "modprobe" && !c.hasWord("-n", "--dry-run", "--show-depends", "-c", "--showconfig")
			},
			prog("insmod", ""), prog("rmmod", ""))},
	{Name: "kernel-parameter", Level: Neutralized,
		What: "changes a kernel parameter or a sysfs setting",
		Why:  "/proc/sys and /sys are read-only in the runcmd environment",
		Match: anyOf(flag("sysctl", "-w", "--write", "-p", "--load", "--system"),
			func(c Cmd) bool {
				return c.Name == "sysctl" && c.arg(func(a string) bool { return strings.Contains(a, "=") })
			},
			writes(`^/(proc/sys/|proc/sysrq-trigger|sys/)`))},
	{Name: "hostname", Level: Neutralized,
		What: "changes the host name",
		Why:  "the runcmd environment has its own UTS namespace",
		Match: anyOf(
			func(c Cmd) bool { return c.Name == "hostname" && c.firstWord() != "" }, flag("hostname", "-F", "--file", "-b", "--boot"),
			prog("hostnamectl", "set-hostname", "hostname"), func(c Cmd) bool { return c.Name == "domainname" && len(c.Args) > 0 })},
	{Name: "clock", Level: Neutralized,
		What: "sets the clock",
		Why:  "CAP_SYS_TIME is dropped and /dev/rtc is not in the runcmd environment",
		Match: anyOf(flag("date", "-s", "--set"), flag("hwclock", "-w", "--systohc", "--set", "-s", "--hctosys"),
			prog("timedatectl", "set-time", "set-timezone", "set-ntp", "set-local-rtc"), prog("ntpdate", ""))},
	{Name: "network", Level: Neutralized,
		What: "changes the network configuration or the firewall",
		Why:  "CAP_NET_ADMIN is dropped: links, addresses, routes and firewall rules cannot be changed",
		Match: anyOf(
			func(c Cmd) bool {
				return c.Name == "ip" && c.hasWord("add", "del", "delete", "set", "change", "replace", "flush", "append")
			},
			func(c Cmd) bool { return c.Name == "ifconfig" && len(c.Args) >= 2 },
			prog("ifup", ""), prog("ifdown", ""), prog("iptables", ""), prog("ip6tables", ""), prog("iptables-restore", ""),
			prog("ip6tables-restore", ""), prog("ebtables", ""), prog("brctl", ""),
			prog("nft", "add", "delete", "flush", "insert", "replace", "create", "-f"), prog("tc", "qdisc", "class", "filter"),
			prog("ufw", "enable", "disable", "allow", "deny", "reject", "limit", "reload", "reset"),
			prog("firewall-cmd", ""))},
	{Name: "reboot", Level: Neutralized,
		What: "reboots or stops the system",
		Why:  "CAP_SYS_BOOT is dropped and no service manager listens in the runcmd environment",
		Match: anyOf(prog("reboot", ""), prog("shutdown", ""), prog("halt", ""), prog("poweroff", ""), prog("kexec", ""),
			prog("telinit", ""), func(c Cmd) bool {
				return c.Name == "init" && len(c.Args) == 1 && strings.Trim(c.Args[0], "0123456sS") == ""
			},
			prog("systemctl", "reboot", "poweroff", "halt", "kexec", "suspend", "hibernate", "rescue", "emergency"))},
	{Name: "mount", Level: Neutralized,
		What: "mounts, unmounts or swaps",
		Why:  "the runcmd environment has a private mount namespace and CAP_SYS_ADMIN is dropped",
		Match: anyOf(
			func(c Cmd) bool { return c.Name == "mount" && len(c.Args) > 0 && !c.hasWord("-l", "--list") },
			prog("umount", ""), prog("swapon", ""), prog("swapoff", ""))},
	{Name: "daemon-socket", Level: Neutralized,
		What: "asks a daemon of the booted system through its socket (D-Bus, udev, logind)",
		Why:  "the runcmd environment's /run is empty: no socket of the booted system is there (white paper 3.1.2)",
		Match: anyOf(prog("dbus-send", ""), prog("busctl", ""), prog("gdbus", ""), prog("loginctl", ""),
			prog("udevadm", "trigger", "control", "settle"), prog("systemd-notify", ""))},
	{Name: "background", Level: Neutralized,
		What:  "leaves a process running",
		Why:   "every process still running when the command ends is named and killed (white paper 3.2, unterminated process)",
		Match: func(c Cmd) bool { return c.Background }},
}

// ShimmedBootTools are the boot-loader commands the runcmd environment
// replaces by drd's shims, when a script calls them by name (PATH).
var ShimmedBootTools = []string{"grub-install", "update-grub", "update-grub2", "grub-mkconfig"}

// diskTools write partition tables, file systems or volumes onto the disk
// they are given.
var diskTools = []string{"sgdisk", "sfdisk", "gdisk", "fdisk", "parted", "wipefs", "blkdiscard", "mkswap",
	"mkfs", "mkfs.ext2", "mkfs.ext3", "mkfs.ext4", "mkfs.xfs", "mkfs.btrfs", "mkfs.vfat", "mkfs.fat", "mke2fs", "pvcreate"}

// diskPattern matches the block devices of disks.
const diskPattern = `^/dev/(sd[a-z]|vd[a-z]|hd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|md\d|dm-\d|mapper/|disk/|loop\d)`

// The regular expressions of drd's packages are compiled on first use:
// drd starts again as the runcmd environment's init and apt hook, which
// need few or none of them (docs/runcmd.md, Performance).
var (
	diskRe    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(diskPattern) })
	localhost = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(^|[/@=])(localhost|127\.\d+\.\d+\.\d+|\[?::1\]?)([:/]|$)`)
	})
)

func isDisk(a string) bool { return diskRe().MatchString(a) }

// anyOf matches what one of ms matches.
func anyOf(ms ...func(Cmd) bool) func(Cmd) bool {
	return func(c Cmd) bool {
		for _, m := range ms {
			if m(c) {
				return true
			}
		}
		return false
	}
}

// prog matches the program name with, unless subs is "", one of the
// subcommands (the first word that is not an option) or option words.
func prog(name string, subs ...string) func(Cmd) bool {
	return func(c Cmd) bool {
		if c.Name != name {
			return false
		}
		if len(subs) == 1 && subs[0] == "" {
			return true
		}
		first := c.firstWord()
		for _, s := range subs {
			if s == first || (strings.HasPrefix(s, "-") && c.hasWord(s)) {
				return true
			}
		}
		return false
	}
}

// flag matches the program with one of the options, alone or bundled
// after a single dash (-ow for -o).
func flag(name string, flags ...string) func(Cmd) bool {
	return func(c Cmd) bool {
		if c.Name != name {
			return false
		}
		return c.arg(func(a string) bool {
			for _, f := range flags {
				if a == f || strings.HasPrefix(a, f+"=") {
					return true
				}
				if len(f) == 2 && f[0] == '-' && f[1] != '-' && strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.ContainsRune(a[1:], rune(f[1])) {
					return true
				}
			}
			return false
		})
	}
}

// writes matches a command writing to a path matching pattern.
func writes(pattern string) func(Cmd) bool {
	re := sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
	return func(c Cmd) bool {
		for _, w := range c.Writes {
			if re().MatchString(w) {
				return true
			}
		}
		return false
	}
}

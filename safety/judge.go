package safety

import (
	"bufio"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Level is how safe a package is to install in the runcmd environment.
type Level string

// The levels, from best to worst.
const (
	Safe   Level = "safe"   // X-DRD-Safe: yes, or nothing risky in its scripts
	Risky  Level = "risky"  // its scripts do something the runcmd environment must contain
	Unsafe Level = "unsafe" // X-DRD-Safe: no, or on the unsafe list: not installed
)

// Verdict is the judgement of one package.
type Verdict struct {
	Package string   `json:"package"`
	Version string   `json:"version"`
	Level   Level    `json:"level"`
	Reasons []string `json:"reasons,omitempty"`
}

func (v Verdict) String() string {
	s := fmt.Sprintf("%s %s: %s", v.Package, v.Version, v.Level)
	if len(v.Reasons) > 0 {
		s += " (" + strings.Join(v.Reasons, "; ") + ")"
	}
	return s
}

// UnsafeList is the administrator's list of packages known not to be
// DRD-safe (/etc/drd/unsafe.list): package name -> versions ("" for all)
// and the reason given.
type UnsafeList map[string][]UnsafeEntry

// UnsafeEntry is one line of the unsafe list.
type UnsafeEntry struct {
	Version string // "" for every version
	Reason  string
}

// UnsafeListPath is where the administrator keeps the unsafe list.
const UnsafeListPath = "/etc/drd/unsafe.list"

// ParseUnsafeList reads the unsafe list: one package per line, written
// `name`, or `name=version` for one version, then an optional reason
// after `#`. Blank lines and lines starting with # are skipped.
func ParseUnsafeList(data string) (UnsafeList, error) {
	l := UnsafeList{}
	sc := bufio.NewScanner(strings.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line, reason, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.ContainsAny(line, " \t") {
			return nil, fmt.Errorf("%s, line %d: %q: want one package, as name or name=version", UnsafeListPath, n, line)
		}
		name, version, _ := strings.Cut(line, "=")
		l[name] = append(l[name], UnsafeEntry{Version: version, Reason: strings.TrimSpace(reason)})
	}
	return l, sc.Err()
}

// lookup says why package name at version is on the list, if it is.
func (l UnsafeList) lookup(name, version string) (string, bool) {
	for _, e := range l[name] {
		if e.Version == "" || e.Version == version {
			why := "on " + UnsafeListPath
			if e.Reason != "" {
				why += ": " + e.Reason
			}
			return why, true
		}
	}
	return "", false
}

// Judge decides whether p may be installed in the runcmd environment:
// Unsafe if it says X-DRD-Safe: no or is on the unsafe list; Safe if it
// says X-DRD-Safe: yes; otherwise Risky when its maintainer scripts do
// what the white paper calls unsafe (kill, start or restart daemons,
// load modules, change the network, the clock, the host name or kernel
// parameters, flash firmware), Safe when they do none of it.
func Judge(p *Package, unsafe UnsafeList) Verdict {
	v := Verdict{Package: p.Name, Version: p.Version, Level: Safe}
	flag := strings.ToLower(strings.TrimSpace(p.field("X-DRD-Safe")))
	if why, ok := unsafe.lookup(p.Name, p.Version); ok {
		v.Level, v.Reasons = Unsafe, []string{why}
		return v
	}
	switch flag {
	case "no", "false", "0":
		v.Level, v.Reasons = Unsafe, []string{"the package says X-DRD-Safe: no"}
		return v
	case "yes", "true", "1":
		v.Reasons = []string{"the package says X-DRD-Safe: yes"}
		return v
	}
	names := make([]string, 0, len(p.Scripts))
	for s := range p.Scripts {
		names = append(names, s)
	}
	sort.Strings(names)
	for _, s := range names {
		for _, f := range ScanScript(p.Scripts[s]) {
			v.Reasons = append(v.Reasons, fmt.Sprintf("%s line %d: %s: %s", s, f.Line, f.Text, f.What))
		}
	}
	if len(v.Reasons) > 0 {
		v.Level = Risky
	}
	return v
}

// Finding is one risky line of a script.
type Finding struct {
	Line int
	Text string // the line, trimmed
	What string // the problem area of the white paper
}

// risky are the commands of the white paper's problem areas, each as a
// pattern matching a command word at the start of a shell command.
var risky = []struct {
	re   *regexp.Regexp
	what string
}{
	{cmdRe(`(kill|killall|pkill|killall5|fuser\s+-k)`), "illegal kill: a process of the booted system"},
	{cmdRe(`(start-stop-daemon|service\s+\S+\s+(start|stop|restart|reload|force-reload)|/etc/init\.d/\S+\s+(start|stop|restart|reload|force-reload))`), "illegal restart: a daemon of the booted system"},
	{cmdRe(`systemctl\s+(\S+\s+)*(start|stop|restart|reload|try-restart|reload-or-restart|kill|isolate|daemon-reload|daemon-reexec)`), "illegal restart: a daemon of the booted system"},
	{cmdRe(`(modprobe|insmod|rmmod)`), "loads or unloads a kernel module of the booted kernel"},
	{cmdRe(`(sysctl\s+(-w|-p|--system|--load)|echo\s.*>\s*/proc/sys/\S*)`), "changes kernel parameters of the booted system"},
	{cmdRe(`(hostname\s+[^-\s]\S*|hostnamectl\s+set-hostname)`), "changes the host name of the booted system"},
	{cmdRe(`(date\s+(-s|--set)|hwclock\s+(-w|--systohc|--set)|timedatectl\s+set-)`), "changes the clock of the booted system"},
	{cmdRe(`(ip\s+(-\S+\s+)*(link|addr|address|route|rule)\s+(add|del|delete|set|change|replace|flush)|ifconfig\s+\S+\s+\S+|ifup|ifdown|iptables|ip6tables|nft\s+(add|delete|flush|insert|replace|-f))`), "changes the network configuration of the booted system"},
	{cmdRe(`(reboot|shutdown|halt|poweroff|telinit|init\s+[0-6])`), "reboots or stops the booted system"},
	{cmdRe(`(mount|umount|swapon|swapoff)\s`), "changes the mounts of the booted system"},
	{cmdRe(`(fwupdmgr\s+(install|update)|flashrom|fwupdate)`), "flashes firmware: a firmware patch is never DRD-safe"},
}

// cmdRe matches cmd as a command: at the start of a line or after ; & | ( ` $( then/do/else.
func cmdRe(cmd string) *regexp.Regexp {
	return regexp.MustCompile(`(^|[;&|(` + "`" + `]|\$\(|\bthen\s|\bdo\s|\belse\s|\bsudo\s|\bexec\s)\s*(/\S*/)?` + cmd + `(\s|$|;)`)
}

// ScanScript lists the risky lines of a maintainer script. Comments are
// skipped, and so are the sections debhelper adds (between "# Automatically
// added by" and "# End automatically added section"): they go through
// invoke-rc.d and deb-systemd-invoke, which ask policy-rc.d first and run
// nothing when no service manager is running.
func ScanScript(script string) []Finding {
	var out []Finding
	inDebhelper := false
	sc := bufio.NewScanner(strings.NewReader(script))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "# Automatically added by"):
			inDebhelper = true
			continue
		case strings.HasPrefix(line, "# End automatically added section"):
			inDebhelper = false
			continue
		case inDebhelper || line == "" || strings.HasPrefix(line, "#"):
			continue
		}
		for _, r := range risky {
			if r.re.MatchString(line) {
				out = append(out, Finding{Line: n, Text: line, What: r.what})
				break
			}
		}
	}
	return out
}

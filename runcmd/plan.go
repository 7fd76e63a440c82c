package runcmd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Spec is everything the jail's init needs: it is planned by Plan, sent
// to the init as JSON, and carried out there without further decisions.
type Spec struct {
	Root   string   // the image, as mounted on the booted system
	Mounts []Mount  // in order, after Root is bound onto itself
	Argv   []string // the command
	Path   string   // PATH in which Argv[0] is looked up
	Env    []string // its whole environment
	Drop   []Cap    // capabilities dropped from the command's bounding set
	Net    bool     // the jail has a network namespace of its own
	// Slirp: drd connects the jail's network namespace to the outside
	// through slirp4netns (netns.go); without it the namespace has only a
	// loopback link.
	Slirp bool `json:"slirp,omitempty"`
	// Subnet, with Slirp: the jail's IPv4 subnet ("": the jail picks
	// one, jailSubnet).
	Subnet string `json:"subnet,omitempty"`
	// DNSHost, with Slirp: the image's resolver on the booted system's
	// loopback, to which slirp4netns forwards the jail's queries (dns.go).
	DNSHost string `json:"dnsHost,omitempty"`
	// Network is the jail's network made ahead (Jail.Prepare), for Slirp.
	Network *JailNet `json:"-"`
	// GraceMillis is how long leftover processes get between SIGTERM and
	// SIGKILL when the command has ended.
	GraceMillis int
	// Files are handed to the init after its spec and status pipes (a
	// stage's mounts); Handed is their number, for the init.
	Files  []*os.File `json:"-"`
	Handed int
	// Before, when set, is the caller's own work before the command
	// (drd's files written into Files, the package database read, the
	// image marked): the Jailer calls it once the init has started, and
	// hands the init its plan only after it returned, so that the init's
	// start overlaps it. An error of Before stops the jail before
	// anything is built; the Jailer returns it.
	Before func() error `json:"-"`
}

// Kinds of Mount.
const (
	KindBind     = "bind"    // bind Source (a path on the booted system) at Target
	KindFS       = "fs"      // mount a new file system of Type
	KindFile     = "file"    // create an empty file at Target (a bind target)
	KindDir      = "dir"     // create a directory at Target, with Mode
	KindSymlink  = "symlink" // make Target a symbolic link to Source
	KindWrite    = "write"   // write Data into a new file Target (in a tmpfs)
	KindMountFD  = "mountfd" // attach the detached mount drd handed over as FD at Target
	KindNode     = "node"    // make the character device Dev at Target, with Mode
	KindReadOnly = "ro"      // make the mount at Target read-only
)

// jailDevices are the character devices of the jail's /dev.
var jailDevices = []struct {
	name         string
	major, minor uint32
}{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}}

// Mount is one step of building the jail's tree. Target is a path in the
// jail; Source a path on the booted system (binds) or a link's target.
type Mount struct {
	Kind     string  `json:"kind"`
	Source   string  `json:"source,omitempty"`
	Target   string  `json:"target"`
	Type     string  `json:"type,omitempty"`
	Flags    uintptr `json:"flags,omitempty"`
	Data     string  `json:"data,omitempty"`
	ReadOnly bool    `json:"ro,omitempty"`
	Mode     uint32  `json:"mode,omitempty"`
	// Placeholder: the target file may be missing in the image; create it
	// empty and report it, so that it is removed after the run.
	Placeholder bool `json:"placeholder,omitempty"`
	// Optional: skip the step when its target does not exist (a /proc
	// file this kernel lacks).
	Optional bool `json:"optional,omitempty"`
	// Dir: a bind's source must be a directory (a depot).
	Dir bool `json:"dir,omitempty"`
	// FD is the index, in Spec.Files, of a KindMountFD's mount.
	FD int `json:"fd,omitempty"`
	// Dev is a KindNode's device number.
	Dev uint64 `json:"dev,omitempty"`
}

// The jail's fixed environment.
const (
	jailPath   = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	stagingDir = "/run/drd" // where drd's own files appear in the jail
)

// passEnv are the variables of the caller the command keeps: terminal,
// language, proxies and Debian's front-end settings. Anything else (a
// DBUS_SESSION_BUS_ADDRESS, an XDG_RUNTIME_DIR, a SYSTEMD_* or LD_*) points
// at the booted system and is dropped.
var passEnv = []string{"TERM", "LANG", "LANGUAGE", "TZ", "COLUMNS", "LINES",
	"http_proxy", "https_proxy", "ftp_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
	"DEBIAN_FRONTEND", "DEBIAN_PRIORITY", "DEBCONF_NONINTERACTIVE_SEEN", "APT_LISTCHANGES_FRONTEND", "NEEDRESTART_MODE"}

// PlanInput is what Plan needs to know.
type PlanInput struct {
	Root    string   // the image's root, mounted on the booted system
	Image   string   // its name, for DRD_IMAGE
	Argv    []string // the command
	Env     []string // the caller's environment (os.Environ())
	Depots  []string // directories of the booted system shown read-only at the same path (-x depot=)
	NoNet   bool     // a network namespace of its own: no network at all
	HostNet bool     // the booted system's network namespace (-x network=host); otherwise one of its own through slirp4netns
	Subnet  string   // the jail's subnet, with a network of its own ("": the jail picks one)
	// Staging: drd's files (a stage: policy-rc.d, apt.conf, the hook,
	// drd itself) are handed to the jail as Spec.Files 0 and 1, attached
	// at /run/drd and /run/drd/out.
	Staging bool
	// ResolvConf, if not empty, is the jail's resolv.conf: written at
	// ResolvTarget in the jail's /run when the image's /etc/resolv.conf
	// points into /run, which is empty; bound over the image's file (from
	// the jail's /run) when ResolvTarget is /etc/resolv.conf.
	ResolvConf   string
	ResolvTarget string
	// DNSHost: the image's resolver is on the booted system's loopback;
	// ResolvConf names dnsAddr(Subnet) instead, and slirp4netns forwards
	// (dns.go).
	DNSHost string
	// PolicyRC tells whether the image has a /usr/sbin/policy-rc.d of its
	// own (then it is covered, not created).
	PolicyRC bool
	// BootDevices are the devices the image's grub-pc installs GRUB on
	// (its debconf): the jail's /dev gets an empty file at each path.
	BootDevices []string
}

// resolvDir holds, in the jail's /run, the resolv.conf bound over the
// image's (dns.go).
const resolvDir = "/run/drd-resolv"

// noDev are the flags of every mount in the jail but its /dev: no device
// node, setuid bit or program of the mount works.
const noDev = unix.MS_NODEV | unix.MS_NOSUID | unix.MS_NOEXEC

// Plan makes the jail's Spec. It reads and writes nothing.
func Plan(in PlanInput) *Spec {
	in.Root = filepath.Clean(in.Root)
	at := func(p string) string { return filepath.Join(in.Root, p) }
	var m []Mount
	// /proc of the jail's own PID namespace; what would change or spy on
	// the kernel is read-only or hidden.
	m = append(m, Mount{Kind: KindDir, Target: "/proc", Mode: 0o555},
		Mount{Kind: KindFS, Type: "proc", Source: "proc", Target: "/proc", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC})
	for _, p := range []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"} {
		m = append(m, Mount{Kind: KindBind, Source: at(p), Target: p, ReadOnly: true, Optional: true, Flags: noDev})
	}
	m = append(m, Mount{Kind: KindDir, Target: "/sys", Mode: 0o555},
		Mount{Kind: KindFS, Type: "sysfs", Source: "sysfs", Target: "/sys", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY})
	// A /dev of its own: the harmless character devices, no disks.
	m = append(m, Mount{Kind: KindDir, Target: "/dev", Mode: 0o755},
		Mount{Kind: KindFS, Type: "tmpfs", Source: "tmpfs", Target: "/dev", Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Data: "mode=755,size=1m"})
	// Its own nodes, not binds of the booted system's: no mount of the
	// booted system's devtmpfs in the jail. The /dev tmpfs is made
	// read-only once built (last step): no mknod there.
	for _, d := range jailDevices {
		m = append(m, Mount{Kind: KindNode, Target: "/dev/" + d.name, Dev: unix.Mkdev(d.major, d.minor), Mode: 0o666})
	}
	for _, p := range []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/kallsyms"} {
		m = append(m, Mount{Kind: KindBind, Source: at("/dev/null"), Target: p, ReadOnly: true, Optional: true, Flags: noDev})
	}
	m = append(m,
		Mount{Kind: KindDir, Target: "/dev/pts", Mode: 0o755},
		Mount{Kind: KindFS, Type: "devpts", Source: "devpts", Target: "/dev/pts", Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Data: "newinstance,ptmxmode=0666,mode=620,gid=5"},
		Mount{Kind: KindSymlink, Source: "pts/ptmx", Target: "/dev/ptmx"},
		Mount{Kind: KindDir, Target: "/dev/shm", Mode: 0o1777},
		Mount{Kind: KindFS, Type: "tmpfs", Source: "tmpfs", Target: "/dev/shm", Flags: unix.MS_NOSUID | unix.MS_NODEV, Data: "mode=1777"},
		Mount{Kind: KindSymlink, Source: "/proc/self/fd", Target: "/dev/fd"},
		Mount{Kind: KindSymlink, Source: "/proc/self/fd/0", Target: "/dev/stdin"},
		Mount{Kind: KindSymlink, Source: "/proc/self/fd/1", Target: "/dev/stdout"},
		Mount{Kind: KindSymlink, Source: "/proc/self/fd/2", Target: "/dev/stderr"},
	)
	// An empty /run: no systemd, D-Bus, or other daemon's socket of the
	// booted system; systemctl and deb-systemd-invoke see no running
	// service manager. /tmp is the jail's own too.
	m = append(m,
		Mount{Kind: KindDir, Target: "/run", Mode: 0o755},
		Mount{Kind: KindFS, Type: "tmpfs", Source: "tmpfs", Target: "/run", Flags: unix.MS_NOSUID | unix.MS_NODEV, Data: "mode=755"},
		Mount{Kind: KindDir, Target: "/run/lock", Mode: 0o1777},
		Mount{Kind: KindDir, Target: "/tmp", Mode: 0o1777},
		Mount{Kind: KindFS, Type: "tmpfs", Source: "tmpfs", Target: "/tmp", Flags: unix.MS_NOSUID | unix.MS_NODEV, Data: "mode=1777"},
	)
	switch {
	case in.ResolvConf != "" && strings.HasPrefix(in.ResolvTarget, "/run/"):
		m = append(m, Mount{Kind: KindDir, Target: filepath.Dir(in.ResolvTarget), Mode: 0o755},
			Mount{Kind: KindWrite, Target: in.ResolvTarget, Data: in.ResolvConf, Mode: 0o644})
	case in.ResolvConf != "" && in.ResolvTarget == "/etc/resolv.conf":
		// Over the image's file, which stays as it is on disk.
		m = append(m, Mount{Kind: KindDir, Target: resolvDir, Mode: 0o755},
			Mount{Kind: KindWrite, Target: resolvDir + "/resolv.conf", Data: in.ResolvConf, Mode: 0o644},
			Mount{Kind: KindBind, Source: at(resolvDir + "/resolv.conf"), Target: "/etc/resolv.conf", ReadOnly: true, Flags: noDev})
	}
	// drd's files: policy-rc.d (services are never started), the apt
	// hook that judges packages, and drd itself to run it.
	// They live on tmpfs of their own, never on a file system of the
	// booted system (stage).
	if in.Staging {
		m = append(m, Mount{Kind: KindDir, Target: stagingDir, Mode: 0o755},
			Mount{Kind: KindMountFD, FD: 0, Target: stagingDir},
			Mount{Kind: KindMountFD, FD: 1, Target: outDir},
			Mount{Kind: KindFile, Target: "/usr/sbin/policy-rc.d", Placeholder: !in.PolicyRC},
			Mount{Kind: KindBind, Source: at(stagingDir + "/policy-rc.d"), Target: "/usr/sbin/policy-rc.d", ReadOnly: true, Flags: unix.MS_NODEV | unix.MS_NOSUID})
	}
	// Placeholders for the disks the image's grub-pc names: its postinst
	// finds them and calls grub-install, drd's shim (first in PATH).
	for _, d := range in.BootDevices {
		if !strings.HasPrefix(d, "/dev/") || strings.Contains(d, "/../") {
			continue
		}
		for _, dir := range parentsBelow("/dev", filepath.Dir(d)) {
			m = append(m, Mount{Kind: KindDir, Target: dir, Mode: 0o755})
		}
		m = append(m, Mount{Kind: KindWrite, Target: d, Mode: 0o600})
	}
	m = append(m, Mount{Kind: KindReadOnly, Target: "/dev"})
	for _, b := range in.Depots {
		b = filepath.Clean(b)
		m = append(m, Mount{Kind: KindDir, Target: b, Mode: 0o755, Placeholder: true},
			Mount{Kind: KindBind, Source: b, Target: b, ReadOnly: true, Dir: true, Flags: noDev})
	}
	return &Spec{
		Root:        in.Root,
		Mounts:      m,
		Argv:        commandArgv(in),
		Path:        commandPath(in),
		Env:         jailEnv(in),
		Drop:        slices.Clone(Dropped),
		Net:         in.NoNet || !in.HostNet,
		Slirp:       !in.NoNet && !in.HostNet,
		Subnet:      in.Subnet,
		DNSHost:     in.DNSHost,
		GraceMillis: 2000,
	}
}

// commandArgv is the command; apt gets drd's hook on its command line.
func commandArgv(in PlanInput) []string {
	argv := slices.Clone(in.Argv)
	if in.Staging && len(argv) > 0 && slices.Contains([]string{"apt", "apt-get"}, filepath.Base(argv[0])) {
		argv = append(append([]string{argv[0]}, aptArgs...), argv[1:]...)
	}
	return argv
}

// jailEnv is the command's environment: the variables of passEnv from the
// caller, LC_* too, and the runcmd environment's own.
func jailEnv(in PlanInput) []string {
	env := []string{"PATH=" + commandPath(in), "HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/sh",
		"SW_SESSION_IS_DRD=1", "DRD_IMAGE=" + in.Image,
		"SYSTEMD_OFFLINE=1", // systemctl edits files and talks to no manager
	}
	if in.Staging {
		env = append(env, "APT_CONFIG="+stagingDir+"/apt.conf")
	}
	for _, kv := range in.Env {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains(passEnv, k) || strings.HasPrefix(k, "LC_") {
			env = append(env, kv)
		}
	}
	return env
}

// commandPath is the command's PATH: drd's boot-loader shims first when
// drd's files are in the jail.
func commandPath(in PlanInput) string {
	if !in.Staging {
		return jailPath
	}
	return shimDir + ":" + jailPath
}

// parentsBelow lists the directories from below top down to dir:
// parentsBelow("/dev", "/dev/disk/by-id") is /dev/disk, /dev/disk/by-id.
func parentsBelow(top, dir string) []string {
	var ds []string
	for d := dir; d != top && strings.HasPrefix(d, top+"/"); d = filepath.Dir(d) {
		ds = append([]string{d}, ds...)
	}
	return ds
}

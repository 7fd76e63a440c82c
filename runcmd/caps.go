package runcmd

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"
)

// Cap is a Linux capability.
type Cap struct {
	Num  int    `json:"num"`
	Name string `json:"name"`
	Why  string `json:"-"`
}

// Kept are the only capabilities a command in the runcmd environment
// has: what dpkg, apt and maintainer scripts need on the image's files.
// Every other capability, including those of kernels newer than drd, is
// dropped from the command's bounding, permitted, effective,
// inheritable and ambient sets (Dropped): an allow list, so that a new
// kernel's capability is never kept by mistake.
var Kept = []Cap{
	{unix.CAP_CHOWN, "cap_chown", "dpkg gives unpacked files their owners; chown in postinst"},
	{unix.CAP_DAC_OVERRIDE, "cap_dac_override", "dpkg and scripts read and write files whatever their modes (also covers searching directories, so cap_dac_read_search is not needed)"},
	{unix.CAP_FOWNER, "cap_fowner", "chmod, utimes and xattrs on files root does not own"},
	{unix.CAP_FSETID, "cap_fsetid", "keep setuid/setgid bits on unpacked files (dpkg-statoverride, su, passwd)"},
	{unix.CAP_SETUID, "cap_setuid", "apt drops to _apt for downloads; su, runuser, start-stop-daemon --chuid in scripts"},
	{unix.CAP_SETGID, "cap_setgid", "as cap_setuid, for groups"},
	{unix.CAP_SETFCAP, "cap_setfcap", "setcap in postinsts (iputils-ping: cap_net_raw on /bin/ping) and dpkg's file capabilities"},
	{unix.CAP_KILL, "cap_kill", "prerm scripts stop daemons of other users; the PID namespace shows only the jail's processes"},
	{unix.CAP_SYS_CHROOT, "cap_sys_chroot", "scripts chroot into trees of the image (mkinitramfs, debootstrap); pivot_root already made the image the root"},
}

// dropReasons says, for the capabilities of current kernels, why the
// command never has them. A capability that is not here and not in Kept
// (a newer kernel's) is dropped too.
var dropReasons = map[int]string{
	unix.CAP_DAC_READ_SEARCH:    "open_by_handle_at opens any file of a file system by its handle: a bound host file system would be wide open",
	unix.CAP_LINUX_IMMUTABLE:    "set or clear immutable and append-only flags",
	unix.CAP_NET_BIND_SERVICE:   "take service ports (with -x network=host, the booted system's)",
	unix.CAP_NET_BROADCAST:      "broadcast and listen to multicast",
	unix.CAP_NET_ADMIN:          "change links, addresses, routes, firewall rules",
	unix.CAP_NET_RAW:            "raw sockets: forge packets on the network",
	unix.CAP_IPC_LOCK:           "lock the booted system's memory",
	unix.CAP_IPC_OWNER:          "bypass the permissions of System V IPC objects",
	unix.CAP_SYS_MODULE:         "load or remove kernel modules of the booted kernel",
	unix.CAP_SYS_RAWIO:          "raw I/O to devices, ports and memory of the booted system",
	unix.CAP_SYS_PTRACE:         "trace other processes, read their memory (the jail's init)",
	unix.CAP_SYS_PACCT:          "switch process accounting of the booted system",
	unix.CAP_SYS_ADMIN:          "mount, unmount, swap, set the host name, TIOCSTI on any terminal, leave the jail",
	unix.CAP_SYS_BOOT:           "reboot, kexec",
	unix.CAP_SYS_NICE:           "change priorities and CPU placement of the booted system's work",
	unix.CAP_SYS_RESOURCE:       "raise limits; use the file systems' reserved blocks",
	unix.CAP_SYS_TIME:           "set the clock",
	unix.CAP_SYS_TTY_CONFIG:     "vhangup and reconfigure terminals",
	unix.CAP_MKNOD:              "create device nodes: every mount of the jail is nodev already, and Debian packages ship no device files (policy 10.6), so a node made by a script is an attack",
	unix.CAP_LEASE:              "lease files",
	unix.CAP_AUDIT_WRITE:        "write into the booted system's audit log",
	unix.CAP_AUDIT_CONTROL:      "change the audit rules",
	unix.CAP_SETPCAP:            "change other capability sets and securebits",
	unix.CAP_MAC_OVERRIDE:       "override the security policy",
	unix.CAP_MAC_ADMIN:          "change the security policy",
	unix.CAP_SYSLOG:             "read or clear the kernel log",
	unix.CAP_WAKE_ALARM:         "set wake alarms",
	unix.CAP_BLOCK_SUSPEND:      "block suspend",
	unix.CAP_AUDIT_READ:         "read the booted system's audit multicast (every command, every login)",
	unix.CAP_PERFMON:            "observe the booted system with perf",
	unix.CAP_BPF:                "load BPF programs into the booted kernel",
	unix.CAP_CHECKPOINT_RESTORE: "checkpoint and restore processes; set PIDs",
}

// capNames are the names of the capabilities of current kernels.
var capNames = map[int]string{
	unix.CAP_CHOWN: "cap_chown", unix.CAP_DAC_OVERRIDE: "cap_dac_override", unix.CAP_DAC_READ_SEARCH: "cap_dac_read_search",
	unix.CAP_FOWNER: "cap_fowner", unix.CAP_FSETID: "cap_fsetid", unix.CAP_KILL: "cap_kill", unix.CAP_SETGID: "cap_setgid",
	unix.CAP_SETUID: "cap_setuid", unix.CAP_SETPCAP: "cap_setpcap", unix.CAP_LINUX_IMMUTABLE: "cap_linux_immutable",
	unix.CAP_NET_BIND_SERVICE: "cap_net_bind_service", unix.CAP_NET_BROADCAST: "cap_net_broadcast", unix.CAP_NET_ADMIN: "cap_net_admin",
	unix.CAP_NET_RAW: "cap_net_raw", unix.CAP_IPC_LOCK: "cap_ipc_lock", unix.CAP_IPC_OWNER: "cap_ipc_owner",
	unix.CAP_SYS_MODULE: "cap_sys_module", unix.CAP_SYS_RAWIO: "cap_sys_rawio", unix.CAP_SYS_CHROOT: "cap_sys_chroot",
	unix.CAP_SYS_PTRACE: "cap_sys_ptrace", unix.CAP_SYS_PACCT: "cap_sys_pacct", unix.CAP_SYS_ADMIN: "cap_sys_admin",
	unix.CAP_SYS_BOOT: "cap_sys_boot", unix.CAP_SYS_NICE: "cap_sys_nice", unix.CAP_SYS_RESOURCE: "cap_sys_resource",
	unix.CAP_SYS_TIME: "cap_sys_time", unix.CAP_SYS_TTY_CONFIG: "cap_sys_tty_config", unix.CAP_MKNOD: "cap_mknod",
	unix.CAP_LEASE: "cap_lease", unix.CAP_AUDIT_WRITE: "cap_audit_write", unix.CAP_AUDIT_CONTROL: "cap_audit_control",
	unix.CAP_SETFCAP: "cap_setfcap", unix.CAP_MAC_OVERRIDE: "cap_mac_override", unix.CAP_MAC_ADMIN: "cap_mac_admin",
	unix.CAP_SYSLOG: "cap_syslog", unix.CAP_WAKE_ALARM: "cap_wake_alarm", unix.CAP_BLOCK_SUSPEND: "cap_block_suspend",
	unix.CAP_AUDIT_READ: "cap_audit_read", unix.CAP_PERFMON: "cap_perfmon", unix.CAP_BPF: "cap_bpf",
	unix.CAP_CHECKPOINT_RESTORE: "cap_checkpoint_restore",
}

// maxCap is the highest capability number a kernel can have: the
// capability sets are 64 bits wide.
const maxCap = 63

// Dropped are the capabilities the command never has: every one of 0 to
// 63 that is not Kept, with its reason.
var Dropped = dropped(Kept)

func dropped(kept []Cap) []Cap {
	var out []Cap
	for n := 0; n <= maxCap; n++ {
		if slices.ContainsFunc(kept, func(c Cap) bool { return c.Num == n }) {
			continue
		}
		name, ok := capNames[n]
		if !ok {
			name = fmt.Sprintf("cap_%d", n)
		}
		why := dropReasons[n]
		if why == "" {
			why = "a capability drd does not know: not needed by dpkg"
		}
		out = append(out, Cap{Num: n, Name: name, Why: why})
	}
	return out
}

// keptMask is the capability set (as in /proc/PID/status) of Kept.
func keptMask() uint64 {
	var m uint64
	for _, c := range Kept {
		m |= 1 << c.Num
	}
	return m
}

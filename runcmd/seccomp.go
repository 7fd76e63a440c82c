package runcmd

import (
	"fmt"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Denied are the system calls the command and everything it starts get
// EPERM for, whatever their capabilities: each would reach the booted
// system's kernel state, or undo the jail. docs/runcmd.md has the same
// table. The filter is installed with no_new_privs and is inherited by
// every child, across execve; it cannot be removed.
var Denied = []struct{ Name, Why string }{
	{"open_by_handle_at", "opens any file of a mounted file system by its handle, past every mount and path"},
	{"name_to_handle_at", "finds the handles open_by_handle_at needs"},
	{"keyctl", "the booted system's key rings (root's user key ring is shared across namespaces)"},
	{"add_key", "as keyctl"},
	{"request_key", "as keyctl; may also run /sbin/request-key on the booted system"},
	{"init_module", "load code into the booted kernel"},
	{"finit_module", "as init_module"},
	{"delete_module", "remove a module the booted system uses"},
	{"kexec_load", "replace the booted kernel"},
	{"kexec_file_load", "as kexec_load"},
	{"bpf", "load programs into the booted kernel, read its maps"},
	{"perf_event_open", "observe the booted system's processes and kernel"},
	{"userfaultfd", "stalls the kernel at will: the usual tool of kernel exploits"},
	{"io_uring_setup", "its operations are not seen by seccomp; a frequent source of kernel exploits"},
	{"mount", "change the jail's tree (/proc, /sys read-only, the hidden /proc files)"},
	{"umount2", "uncover what the jail's mounts hide"},
	{"pivot_root", "change the jail's root"},
	{"move_mount", "the new mount API: as mount"},
	{"fsopen", "as mount"},
	{"fsmount", "as mount"},
	{"fsconfig", "as mount"},
	{"fspick", "as mount"},
	{"open_tree", "clones a mount: as mount"},
	{"mount_setattr", "changes mount flags (nodev, nosuid, read-only): as mount"},
	{"swapon", "swap onto a device or file of the booted system"},
	{"swapoff", "take the booted system's swap away"},
	{"reboot", "reboot or halt the booted system"},
	{"settimeofday", "set the booted system's clock"},
	{"clock_settime", "as settimeofday"},
	{"clock_adjtime", "as settimeofday"},
	{"adjtimex", "as settimeofday"},
	{"acct", "switch process accounting of the booted system"},
	{"quotactl", "change the quotas of the booted system's file systems"},
	{"quotactl_fd", "as quotactl"},
	{"unshare", "new namespaces: a user namespace gives back every capability dropped, inside it"},
	{"setns", "join another namespace (the booted system's, through /proc/PID/ns of a process it can see)"},
}

// The jail's filter also refuses:
//   - clone with a namespace flag (EPERM), for the same reason as unshare;
//   - clone3 (ENOSYS): its flags are in memory, where seccomp cannot read
//     them, so clone3 is refused as if the kernel lacked it: glibc and Go
//     then use clone, whose flags the filter sees;
//   - ioctl TIOCSTI and TIOCLINUX (EPERM): they push keystrokes into a
//     terminal's input, which its shell runs (TIOCLINUX: the console's
//     selection). Only the low 32 bits of the request are compared, as
//     the kernel reads them (an ioctl request is an unsigned int);
//   - every system call of another ABI than x86-64 (ENOSYS): 32-bit
//     (int 0x80) and x32 calls have other numbers, which a deny list of
//     x86-64 numbers does not cover.
const namespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET

// seccompFilter is the jail's filter, as a BPF program for seccomp.
//
// The table of system calls is assembled by github.com/elastic/go-seccomp-bpf
// (pure Go, maintained, used by Elastic's Beats): system calls by name
// from its generated tables of each architecture, the x32 ABI refused.
// libseccomp's Go binding would need cgo and a C library on every
// machine drd runs on. Two checks the library does not make come first,
// written here: the architecture (the library lets a call of another
// architecture through unfiltered) and the ioctl requests (the library
// compares 64-bit values; the kernel reads 32).
func seccompFilter() ([]bpf.RawInstruction, error) {
	prog, err := seccompProgram()
	if err != nil {
		return nil, err
	}
	return bpf.Assemble(prog)
}

// seccompProgram is the filter's program, before assembly.
func seccompProgram() ([]bpf.Instruction, error) {
	names := make([]string, len(Denied))
	for i, d := range Denied {
		names[i] = d.Name
	}
	policy := seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{
			{Names: names, Action: seccomp.ActionErrno | seccomp.Action(unix.EPERM)},
			{NamesWithCondtions: []seccomp.NameWithConditions{{Name: "clone", Conditions: seccomp.ArgumentConditions{
				{Argument: 0, Operation: seccomp.BitsSet, Value: namespaceFlags}}}},
				Action: seccomp.ActionErrno | seccomp.Action(unix.EPERM)},
			{Names: []string{"clone3"}, Action: seccomp.ActionErrno | seccomp.Action(unix.ENOSYS)},
		},
	}
	table, err := policy.Assemble()
	if err != nil {
		return nil, fmt.Errorf("assembling the jail's seccomp filter: %w", err)
	}
	const (
		offNr    = 0
		offArch  = 4
		offArg1  = 16 + 8 // args[1], its low 32 bits on a little-endian machine
		eperm    = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
		enosys   = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
		archX86  = unix.AUDIT_ARCH_X86_64
		tiocsti  = unix.TIOCSTI
		tioclinx = unix.TIOCLINUX
	)
	prefix := []bpf.Instruction{
		bpf.LoadAbsolute{Off: offArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: archX86, SkipTrue: 1},
		bpf.RetConstant{Val: enosys},
		bpf.LoadAbsolute{Off: offNr, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_IOCTL, SkipFalse: 4},
		bpf.LoadAbsolute{Off: offArg1, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: tiocsti, SkipTrue: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: tioclinx, SkipFalse: 1},
		bpf.RetConstant{Val: eperm},
	}
	return append(prefix, table...), nil
}

// installSeccomp sets no_new_privs and installs the jail's filter on the
// calling thread (the locked thread that forks the command): the
// command inherits both.
func installSeccomp(prog []bpf.RawInstruction) error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("setting no_new_privs: %w", err)
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		filter[i] = unix.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		return fmt.Errorf("installing the jail's seccomp filter: %w (a kernel without CONFIG_SECCOMP_FILTER cannot run the runcmd environment)", e)
	}
	return nil
}

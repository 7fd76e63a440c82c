package runcmd

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// seccompData lays out struct seccomp_data as the classic BPF VM reads
// it: every 32-bit word big-endian, as the kernel reads it natively.
func seccompData(arch uint32, nr uint32, args ...uint64) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], nr)
	binary.BigEndian.PutUint32(b[4:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(b[16+8*i:], uint32(a))       // low word first (little-endian machine)
		binary.BigEndian.PutUint32(b[16+8*i+4:], uint32(a>>32)) // then the high word
	}
	return b
}

// TestSeccompFilter runs the jail's filter in a BPF VM against the calls
// it must refuse and those dpkg needs.
func TestSeccompFilter(t *testing.T) {
	prog, err := seccompProgram()
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	const (
		allow  = unix.SECCOMP_RET_ALLOW
		eperm  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
		enosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
		x86    = unix.AUDIT_ARCH_X86_64
		i386   = unix.AUDIT_ARCH_I386
	)
	for _, tc := range []struct {
		name string
		data []byte
		want uint32
	}{
		{"read", seccompData(x86, unix.SYS_READ, 0), allow},
		{"openat", seccompData(x86, unix.SYS_OPENAT), allow},
		{"execve", seccompData(x86, unix.SYS_EXECVE), allow},
		{"chroot", seccompData(x86, unix.SYS_CHROOT), allow},
		{"mknodat fifo", seccompData(x86, unix.SYS_MKNODAT), allow},
		{"ioctl TCGETS", seccompData(x86, unix.SYS_IOCTL, 0, unix.TCGETS), allow},
		{"ioctl TIOCSCTTY", seccompData(x86, unix.SYS_IOCTL, 0, unix.TIOCSCTTY), allow},
		{"ioctl TIOCSTI", seccompData(x86, unix.SYS_IOCTL, 0, unix.TIOCSTI), eperm},
		{"ioctl TIOCSTI high bits", seccompData(x86, unix.SYS_IOCTL, 0, 0xdead000000000000|unix.TIOCSTI), eperm},
		{"ioctl TIOCLINUX", seccompData(x86, unix.SYS_IOCTL, 0, unix.TIOCLINUX), eperm},
		{"clone thread", seccompData(x86, unix.SYS_CLONE, unix.CLONE_VM|unix.CLONE_FS|unix.CLONE_FILES|unix.CLONE_SIGHAND|unix.CLONE_THREAD), allow},
		{"clone fork", seccompData(x86, unix.SYS_CLONE, uint64(unix.SIGCHLD)), allow},
		{"clone newuser", seccompData(x86, unix.SYS_CLONE, unix.CLONE_NEWUSER|uint64(unix.SIGCHLD)), eperm},
		{"clone newns", seccompData(x86, unix.SYS_CLONE, unix.CLONE_NEWNS), eperm},
		{"clone newnet", seccompData(x86, unix.SYS_CLONE, unix.CLONE_NEWNET), eperm},
		{"clone3", seccompData(x86, unix.SYS_CLONE3), enosys},
		{"unshare", seccompData(x86, unix.SYS_UNSHARE, unix.CLONE_NEWUSER), eperm},
		{"setns", seccompData(x86, unix.SYS_SETNS), eperm},
		{"mount", seccompData(x86, unix.SYS_MOUNT), eperm},
		{"open_by_handle_at", seccompData(x86, unix.SYS_OPEN_BY_HANDLE_AT), eperm},
		{"keyctl", seccompData(x86, unix.SYS_KEYCTL), eperm},
		{"add_key", seccompData(x86, unix.SYS_ADD_KEY), eperm},
		{"bpf", seccompData(x86, unix.SYS_BPF), eperm},
		{"finit_module", seccompData(x86, unix.SYS_FINIT_MODULE), eperm},
		{"kexec_file_load", seccompData(x86, unix.SYS_KEXEC_FILE_LOAD), eperm},
		{"clock_settime", seccompData(x86, unix.SYS_CLOCK_SETTIME), eperm},
		{"fsopen", seccompData(x86, unix.SYS_FSOPEN), eperm},
		{"userfaultfd", seccompData(x86, unix.SYS_USERFAULTFD), eperm},
		{"x32 keyctl", seccompData(x86, 0x40000000|unix.SYS_KEYCTL), enosys},
		{"i386 keyctl (288)", seccompData(i386, 288), enosys},
		{"i386 read", seccompData(i386, 3), enosys},
	} {
		got, err := vm.Run(tc.data)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if uint32(got) != tc.want {
			t.Errorf("%s: %#x, want %#x", tc.name, got, tc.want)
		}
	}
	for _, d := range Denied {
		if d.Why == "" {
			t.Errorf("%s is denied without a reason", d.Name)
		}
	}
}

package runcmd

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestCapsDecided: every capability of current kernels is either kept,
// with a reason, or dropped with one; the two lists cover 0 to 63 once.
func TestCapsDecided(t *testing.T) {
	seen := map[int]string{}
	for _, c := range Kept {
		if c.Why == "" {
			t.Errorf("%s is kept without a reason", c.Name)
		}
		if _, ok := dropReasons[c.Num]; ok {
			t.Errorf("%s is both kept and given a reason to drop", c.Name)
		}
		seen[c.Num] = "kept"
	}
	for _, c := range Dropped {
		if seen[c.Num] != "" {
			t.Errorf("%s is kept and dropped", c.Name)
		}
		seen[c.Num] = "dropped"
	}
	for n := 0; n <= maxCap; n++ {
		if seen[n] == "" {
			t.Errorf("capability %d is neither kept nor dropped", n)
		}
	}
	for n := 0; n <= unix.CAP_LAST_CAP; n++ {
		if _, ok := capNames[n]; !ok {
			t.Errorf("capability %d has no name", n)
		}
		if seen[n] == "dropped" && dropReasons[n] == "" {
			t.Errorf("%s is dropped without a reason", capNames[n])
		}
	}
	// The doors of issue 12 and the earlier ones.
	for _, n := range []int{unix.CAP_DAC_READ_SEARCH, unix.CAP_AUDIT_READ, unix.CAP_AUDIT_WRITE, unix.CAP_AUDIT_CONTROL,
		unix.CAP_SYS_ADMIN, unix.CAP_SYS_MODULE, unix.CAP_SYS_BOOT, unix.CAP_SYS_TIME, unix.CAP_NET_ADMIN, unix.CAP_MKNOD,
		unix.CAP_SYS_PTRACE, unix.CAP_SYS_RAWIO, unix.CAP_BPF, unix.CAP_SETPCAP} {
		if seen[n] != "dropped" {
			t.Errorf("%s is kept", capNames[n])
		}
	}
	if m := keptMask(); m&(1<<unix.CAP_CHOWN) == 0 || m&(1<<unix.CAP_SYS_ADMIN) != 0 {
		t.Errorf("kept mask %x", m)
	}
}

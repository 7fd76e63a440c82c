package runcmd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// hostState is what the jail must never change on the machine running
// the tests: the live state of the booted system.
type hostState struct {
	hostname, domainname string
	sysctls              map[string]string
	links                map[string]string // name -> flags and mtu
	modules              string
	firewall             string
	clockSkew            time.Duration // wall clock minus boot clock
}

var watchedSysctls = []string{"net/ipv4/ip_forward", "net/ipv4/conf/all/forwarding", "vm/swappiness", "kernel/sysrq", "net/core/somaxconn"}

func readHost(t *testing.T) hostState {
	t.Helper()
	var s hostState
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	s.hostname, s.domainname = unix.ByteSliceToString(uts.Nodename[:]), unix.ByteSliceToString(uts.Domainname[:])
	s.sysctls = map[string]string{}
	for _, k := range watchedSysctls {
		b, _ := os.ReadFile(filepath.Join("/proc/sys", k))
		s.sysctls[k] = string(b)
	}
	s.links = map[string]string{}
	out, err := exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 {
			s.links[strings.TrimSuffix(f[1], ":")] = f[2] + " " + f[4]
		}
	}
	b, _ := os.ReadFile("/proc/modules")
	s.modules = string(b)
	for _, fw := range [][]string{{"nft", "list", "ruleset"}, {"iptables-save"}} {
		if _, err := exec.LookPath(fw[0]); err == nil {
			b, _ := exec.Command(fw[0], fw[1:]...).Output()
			s.firewall += string(b)
		}
	}
	var boot unix.Timespec
	unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot)
	s.clockSkew = time.Since(time.Unix(0, 0)) - time.Duration(boot.Nano())
	return s
}

// same fails the test for every difference between two host states.
func (s hostState) same(t *testing.T, after hostState) {
	t.Helper()
	if s.hostname != after.hostname || s.domainname != after.domainname {
		t.Errorf("host name changed: %s/%s -> %s/%s", s.hostname, s.domainname, after.hostname, after.domainname)
	}
	for k, v := range s.sysctls {
		if after.sysctls[k] != v {
			t.Errorf("sysctl %s changed: %q -> %q", k, v, after.sysctls[k])
		}
	}
	for name, v := range s.links {
		if after.links[name] != v {
			t.Errorf("link %s changed: %q -> %q", name, v, after.links[name])
		}
	}
	for name := range after.links {
		if strings.HasPrefix(name, "drd") {
			t.Errorf("a link %s appeared", name)
		}
	}
	if s.modules != after.modules {
		t.Errorf("kernel modules changed:\n%s\n->\n%s", s.modules, after.modules)
	}
	if s.firewall != after.firewall {
		t.Errorf("firewall rules changed:\n%s\n->\n%s", s.firewall, after.firewall)
	}
	if d := after.clockSkew - s.clockSkew; d > time.Second || d < -time.Second {
		t.Errorf("the wall clock jumped by %v", d)
	}
}

// sentinel is a process of the booted system the jail must not reach.
// longSleep and slowSleep are the durations of the sleeps the jailed
// commands of the tests start (the daemons they leave, the postinst a
// test interrupts): of this test process alone (its pid in the
// fraction), so that sleepers and procsRunning find them and not those
// of another test binary running at the same time on the machine.
var (
	longSleep = "3601." + strconv.Itoa(os.Getpid())
	slowSleep = "30." + strconv.Itoa(os.Getpid())
)

func sentinel(t *testing.T) *exec.Cmd {
	t.Helper()
	c := exec.Command("sleep", "3600")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	return c
}

func alive(t *testing.T, c *exec.Cmd) {
	t.Helper()
	if err := c.Process.Signal(unix.Signal(0)); err != nil {
		t.Errorf("the booted system's process %d is gone: %v", c.Process.Pid, err)
	}
}

// attackScript tries, from inside the runcmd environment, each unsafe
// action of the white paper, and writes one line per attempt: the name
// and the error it got, or SUCCEEDED. The probes are harmless if they
// succeed (same values, invalid arguments) except for the kill of the
// sentinel, which the test owns.
const attackScript = `#!/bin/sh
HOSTPID=$1 HOSTDIR=$2 HOSTSOCK=$3 LONGSLEEP=$4
sh -c "trap '' TERM; exec sleep $LONGSLEEP" &
sys() { perl -e '@a = map { /^-?\d+$/ ? $_ + 0 : $_ } @ARGV; $n = shift @a; if (syscall($n, @a) < 0) { print STDERR "$!\n"; exit 1 }' "$@"; }
try() { name=$1; shift; if "$@" >/tmp/err 2>&1; then echo "$name: SUCCEEDED"; else echo "$name: $(tr '\n' ' ' </tmp/err)"; fi; }
try kill-booted kill -9 "$HOSTPID"
try hostname sys 170 drd-evil 8
try settimeofday sys 164 0 0
try finit_module sys 313 -1 "" 0
try delete_module sys 176 loop 0
try reboot sys 169 0 0 0 0
try sysctl sh -c 'cat /proc/sys/net/ipv4/ip_forward > /proc/sys/net/ipv4/ip_forward'
try sysrq sh -c 'test ! -e /proc/sysrq-trigger || echo h > /proc/sysrq-trigger'
try link ip link set dev lo up
try addlink ip link add drdevil0 type dummy
try mount sys 165 none /mnt tmpfs 0 0
try umount sys 166 / 2
try mknod-disk sh -c 'mknod /root/disk b 7 0 && head -c1 /root/disk >/dev/null'
try booted-file sh -c "ls $HOSTDIR"
try booted-socket perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "$!\n"' "$HOSTSOCK"
try systemctl sh -c 'test -e /run/systemd/system || { echo "no service manager"; exit 1; }'
try policy-rc.d sh -c 'test ! -x /usr/sbin/policy-rc.d || { /usr/sbin/policy-rc.d nginx start; echo "policy-rc.d says $?"; exit 1; }'
try write-image sh -c 'echo attacked > /etc/drd-attack'
sleep 3600 &
echo "drd-session: $SW_SESSION_IS_DRD"
while read -r k v; do [ "$k" != CapBnd: ] || echo "CapBnd: $v"; done </proc/self/status
`

// attackWant is what each attempt must get in the runcmd environment.
var attackWant = map[string]string{
	"kill-booted":   "No such process",
	"hostname":      "Operation not permitted",
	"settimeofday":  "Operation not permitted",
	"reboot":        "Operation not permitted",
	"sysctl":        "Read-only file system",
	"sysrq":         "Read-only file system",
	"link":          "Operation not permitted",
	"addlink":       "Operation not permitted",
	"mount":         "Operation not permitted",
	"umount":        "Operation not permitted",
	"mknod-disk":    "Operation not permitted", // cap_mknod is dropped (and every mount is nodev)
	"booted-file":   "No such file or directory",
	"booted-socket": "No such file or directory",
	"systemctl":     "no service manager",
	"policy-rc.d":   "policy-rc.d says 101",
	"write-image":   "SUCCEEDED",
}

// checkAttacks reads the script's output.
func checkAttacks(t *testing.T, out string) {
	t.Helper()
	got := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok {
			got[k] = v
		}
	}
	for _, k := range []string{"finit_module", "delete_module"} {
		if _, err := os.Stat("/proc/modules"); err == nil && !strings.Contains(got[k], "Operation not permitted") {
			t.Errorf("%s: got %q, want EPERM", k, got[k])
		}
	}
	for k, want := range attackWant {
		if _, err := os.Stat("/proc/sysrq-trigger"); k == "sysrq" && err != nil {
			want = "SUCCEEDED" // this kernel has no magic SysRq key
		}
		if !strings.Contains(got[k], want) {
			t.Errorf("%s: got %q, want %q", k, got[k], want)
		}
	}
	// Without module support in the kernel the module calls fail with
	// ENOSYS before any capability check: then the bounding set is the proof.
	if _, err := os.Stat("/proc/modules"); err != nil {
		for _, k := range []string{"finit_module", "delete_module"} {
			if got[k] == "Function not implemented " {
				t.Logf("%s: this kernel has no loadable modules; CAP_SYS_MODULE is checked in the bounding set", k)
			} else if !strings.Contains(got[k], "Operation not permitted") {
				t.Errorf("%s: got %q", k, got[k])
			}
		}
	}
	bnd, err := strconv.ParseUint(strings.TrimSpace(got["CapBnd"]), 16, 64)
	if err != nil {
		t.Fatalf("CapBnd %q: %v", got["CapBnd"], err)
	}
	for _, c := range Dropped {
		if bnd&(1<<c.Num) != 0 {
			t.Errorf("%s is in the command's bounding set %x", c.Name, bnd)
		}
	}
	// The numbers of linux/capability.h, not taken from Dropped: net_admin,
	// sys_module, sys_rawio, sys_admin, sys_boot, sys_time.
	for _, n := range []uint{12, 16, 17, 21, 22, 25} {
		if bnd&(1<<n) != 0 {
			t.Errorf("capability %d is in the command's bounding set %x", n, bnd)
		}
	}
	if got["drd-session"] != "1" {
		t.Errorf("SW_SESSION_IS_DRD is %q in the runcmd environment, want 1", got["drd-session"])
	}
}

package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestNetwork checks the harness's NIC (Options.Network, SSH): the guest
// gets an address by DHCP, resolves and reaches the Debian mirror, and its
// sshd answers on the forwarded host port. A VM without Network has no NIC.
func TestNetwork(t *testing.T) {
	Require(t)
	vm := Boot(t, LayoutBIOS, Options{NoDRD: true, Network: true, SSH: true, Disks: []Extra{}})
	out := vm.MustRun(`set -e
for i in $(seq 60); do case "$(hostname -I)" in *10.0.2.*) break;; esac; sleep 1; done
echo "address: $(hostname -I)"
getent hosts deb.debian.org
apt-get -q update >/dev/null && echo apt-update-ok`)
	if !strings.Contains(out, "10.0.2.") || !strings.Contains(out, "apt-update-ok") {
		t.Fatalf("the guest has no address on QEMU's user network or cannot reach the mirror:\n%s", out)
	}
	answered := false
	for end := time.Now().Add(time.Minute); !answered && time.Now().Before(end); time.Sleep(time.Second) {
		answered = vm.SSHAnswers()
	}
	if !answered {
		t.Fatalf("the guest's sshd does not answer on the forwarded 127.0.0.1:%d", vm.SSHPort())
	}
	vm.Shutdown()

	quiet := Boot(t, LayoutBIOS, Options{NoDRD: true, Name: "bios-nonet", Disks: []Extra{}})
	if out := quiet.MustRun("ls /sys/class/net"); strings.TrimSpace(out) != "lo" {
		t.Fatalf("a VM without Options.Network has network interfaces: %q", out)
	}
}

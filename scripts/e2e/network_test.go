package e2e

import (
	"fmt"
	"net"
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
	banner, err := sshBanner(vm.SSHPort())
	if err != nil || !strings.HasPrefix(banner, "SSH-2.0-") {
		t.Fatalf("the guest's sshd on 127.0.0.1:%d: banner %q, %v", vm.SSHPort(), banner, err)
	}
	vm.Shutdown()

	quiet := Boot(t, LayoutBIOS, Options{NoDRD: true, Name: "bios-nonet", Disks: []Extra{}})
	if out := quiet.MustRun("ls /sys/class/net"); strings.TrimSpace(out) != "lo" {
		t.Fatalf("a VM without Options.Network has network interfaces: %q", out)
	}
}

// sshBanner reads the first line an ssh server sends on 127.0.0.1:port.
func sshBanner(port int) (string, error) {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	return strings.TrimSpace(string(buf[:n])), err
}

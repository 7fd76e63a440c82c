package runcmd

import (
	"net/netip"
	"strings"
	"testing"
)

func TestJailResolv(t *testing.T) {
	for _, c := range []struct {
		name, conf, host string
		want             []string // lines of the result, in order ("" when unchanged)
	}{
		{"systemd-resolved", "# stub\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch example.org\n", "127.0.0.53",
			[]string{"# stub", "# drd runcmd: 127.0.0.53 is the booted system's resolver, reached through slirp4netns at 198.18.0.3", "nameserver 198.18.0.3", "options edns0 trust-ad", "search example.org"}},
		{"dnsmasq and a fallback", "nameserver 127.0.0.1\nnameserver ::1\nnameserver 192.0.2.53\n", "127.0.0.1",
			[]string{"# drd runcmd: 127.0.0.1 is the booted system's resolver, reached through slirp4netns at 198.18.0.3", "nameserver 198.18.0.3",
				"# drd runcmd: unreachable in the runcmd environment: nameserver ::1", "nameserver 192.0.2.53"}},
		{"network resolver first", "nameserver 192.0.2.53\nnameserver 127.0.1.1", "127.0.1.1",
			[]string{"nameserver 192.0.2.53", "# drd runcmd: 127.0.1.1 is the booted system's resolver, reached through slirp4netns at 198.18.0.3", "nameserver 198.18.0.3"}},
		{"mapped", "nameserver ::ffff:127.0.0.53\n", "127.0.0.53", nil},
		{"network only", "nameserver 10.0.2.3\n", "", nil},
		{"IPv6 loopback only", "nameserver ::1\n", "", nil},
		{"garbage", "nameserver\nnameserver localhost\nnameserver 127.0.0.999\n", "", nil},
		{"empty", "", "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, host := jailResolv([]byte(c.conf), dnsAddr(subnetPool))
			if host != c.host {
				t.Fatalf("host %q, want %q\n%s", host, c.host, out)
			}
			if host == "" {
				if out != nil {
					t.Errorf("a resolv.conf with no loopback resolver was rewritten:\n%s", out)
				}
				return
			}
			got := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
			if c.want != nil && strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// FuzzJailResolv: the jail's resolv.conf names no loopback resolver, and
// the one slirp4netns forwards to is an IPv4 loopback address.
func FuzzJailResolv(f *testing.F) {
	f.Add("nameserver 127.0.0.53\noptions edns0\n")
	f.Add("nameserver 192.0.2.1\nnameserver ::1\nnameserver 127.0.0.1%lo\n")
	f.Add("search a b\nnameserver\tfe80::1%eth0\n")
	f.Fuzz(func(t *testing.T, conf string) {
		out, host := jailResolv([]byte(conf), dnsAddr(subnetPool))
		if host == "" {
			if out != nil {
				t.Errorf("rewritten without a loopback resolver")
			}
			return
		}
		if a, err := netip.ParseAddr(host); err != nil || !a.Is4() || !a.IsLoopback() {
			t.Errorf("forwarding to %q", host)
		}
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Fields(l)
			if len(f) >= 2 && f[0] == "nameserver" {
				if a, err := netip.ParseAddr(f[1]); err == nil && a.Unmap().IsLoopback() {
					t.Errorf("the jail's resolv.conf names %s:\n%s", f[1], out)
				}
			}
		}
	})
}

package runcmd

import (
	"net/netip"
	"slices"
	"testing"
)

const route4Header = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"

func TestParseRoutes(t *testing.T) {
	tests := []struct {
		name   string
		route4 string
		out    bool
		used   []string
	}{
		{"no table", "", false, nil},
		{"only the header", route4Header, false, nil},
		{"a default route over eth0", route4Header +
			"eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
			"eth0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n", true, []string{"192.168.2.0/24"}},
		{"a local network only", route4Header +
			"eth0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n", false, []string{"192.168.2.0/24"}},
		{"a default on lo", route4Header +
			"lo\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n", false, nil},
		{"a route to 198.18.0.0/16 and a host route", route4Header +
			"ens3\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
			"ens3\t000012C6\t0100000A\t0003\t0\t0\t0\t0000FFFF\t0\t0\t0\n" +
			"ens3\t0900000A\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0\n" +
			"ens3\tzz\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0\n", true, []string{"198.18.0.0/16", "10.0.0.9/32"}},
	}
	for _, tt := range tests {
		got := parseRoutes([]byte(tt.route4))
		var used []string
		for _, p := range got.used {
			used = append(used, p.String())
		}
		if got.out != tt.out || !slices.Equal(used, tt.used) {
			t.Errorf("%s: parseRoutes = %v %v, want %v %v", tt.name, got.out, used, tt.out, tt.used)
		}
	}
}

func TestJailSubnet(t *testing.T) {
	pfx := func(ss ...string) []netip.Prefix {
		var ps []netip.Prefix
		for _, s := range ss {
			ps = append(ps, netip.MustParsePrefix(s))
		}
		return ps
	}
	tests := []struct {
		used []netip.Prefix
		want string
	}{
		{nil, "198.18.0.0/24"},
		{pfx("10.0.2.0/24", "192.168.0.0/16"), "198.18.0.0/24"},
		{pfx("198.18.0.77/32"), "198.18.1.0/24"},
		{pfx("198.18.0.0/16"), "198.19.0.0/24"},
		{pfx("198.0.0.0/8"), ""},
		{pfx("0.0.0.0/1", "128.0.0.0/1"), ""},
	}
	for _, tt := range tests {
		got, ok := jailSubnet(tt.used)
		if (tt.want == "" && ok) || (tt.want != "" && got.String() != tt.want) {
			t.Errorf("jailSubnet(%v) = %v %v, want %q", tt.used, got, ok, tt.want)
		}
	}
}

func FuzzParseRoutes(f *testing.F) {
	f.Add([]byte(route4Header + "eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"))
	f.Add([]byte(route4Header + "eth0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"))
	f.Fuzz(func(t *testing.T, r4 []byte) {
		h := parseRoutes(r4) // must not panic on any table
		if s, ok := jailSubnet(h.used); ok {
			for _, u := range h.used {
				if u.Overlaps(s) {
					t.Fatalf("subnet %v overlaps %v", s, u)
				}
			}
		}
	})
}

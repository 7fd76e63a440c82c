package runcmd

import "testing"

const route4Header = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"

func TestHasRouteOut(t *testing.T) {
	tests := []struct {
		name           string
		route4, route6 string
		want           bool
	}{
		{"no tables", "", "", false},
		{"only the header", route4Header, "", false},
		{"a default route over eth0", route4Header +
			"eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
			"eth0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n", "", true},
		{"a local network only", route4Header +
			"eth0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n", "", false},
		{"a default on lo", route4Header +
			"lo\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n", "", false},
		{"IPv6: the kernel's unreachable default on lo only", route4Header,
			"00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n", false},
		{"IPv6: a default over ens3", route4Header,
			"fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     ens3\n" +
				"00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     ens3\n", true},
		{"IPv6: a /64 only", "",
			"20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     ens3\n", false},
	}
	for _, tt := range tests {
		if got := hasRouteOut([]byte(tt.route4), []byte(tt.route6)); got != tt.want {
			t.Errorf("%s: hasRouteOut = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func FuzzHasRouteOut(f *testing.F) {
	f.Add([]byte(route4Header+"eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"), []byte(""))
	f.Add([]byte(""), []byte("00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n"))
	f.Fuzz(func(t *testing.T, r4, r6 []byte) {
		hasRouteOut(r4, r6) // must not panic on any table
	})
}

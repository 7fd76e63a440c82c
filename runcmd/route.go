package runcmd

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
)

// hasRouteOut tells whether the routing tables of a network namespace,
// as /proc/net/route and /proc/net/ipv6_route show them, hold a default
// route through a link other than loopback: what pasta needs to connect
// a jail to the outside ("No external routable interface" otherwise).
func hasRouteOut(route4, route6 []byte) bool {
	// Iface Destination Gateway Flags RefCnt Use Metric Mask ...
	for i, f := range fieldLines(route4) {
		if i == 0 || len(f) < 8 { // the header
			continue
		}
		if f[0] != "lo" && f[1] == "00000000" && f[7] == "00000000" {
			return true
		}
	}
	// dest prefixlen src srclen nexthop metric refcnt use flags iface;
	// the kernel keeps an unreachable default on lo.
	for _, f := range fieldLines(route6) {
		if len(f) < 10 {
			continue
		}
		if f[9] != "lo" && f[1] == "00" && strings.Trim(f[0], "0") == "" {
			return true
		}
	}
	return false
}

func fieldLines(b []byte) [][]string {
	var lines [][]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lines = append(lines, strings.Fields(sc.Text()))
	}
	return lines
}

// routeOut reads the routing tables of drd's own network namespace from
// procDir: the namespace pasta makes the jail's connections from.
func routeOut(procDir string) bool {
	r4, _ := os.ReadFile(filepath.Join(procDir, "net/route"))
	r6, _ := os.ReadFile(filepath.Join(procDir, "net/ipv6_route"))
	return hasRouteOut(r4, r6)
}

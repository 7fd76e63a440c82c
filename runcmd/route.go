package runcmd

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math/bits"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// hostRoutes is what the booted system's IPv4 routing table (as
// /proc/net/route shows it) tells the jail's network: whether there is
// a default route through a link other than loopback (the jail's
// connections leave that way; without one the jail gets no network), and
// the networks the booted system reaches directly or by a route, which
// the jail's own subnet must not hide.
type hostRoutes struct {
	out  bool
	used []netip.Prefix
}

// parseRoutes reads /proc/net/route's text:
// Iface Destination Gateway Flags RefCnt Use Metric Mask ..., the
// addresses in hexadecimal, in the machine's (little-endian) order.
func parseRoutes(route4 []byte) hostRoutes {
	var h hostRoutes
	for i, f := range fieldLines(route4) {
		if i == 0 || len(f) < 8 || f[0] == "lo" { // the header; loopback
			continue
		}
		dst, ok1 := hexAddr(f[1])
		mask, ok2 := hexAddr(f[7])
		if !ok1 || !ok2 {
			continue
		}
		ones := bits.OnesCount32(binary.BigEndian.Uint32(mask.AsSlice()))
		if ones == 0 {
			h.out = true
			continue
		}
		if p, err := dst.Prefix(ones); err == nil {
			h.used = append(h.used, p)
		}
	}
	return h
}

// hexAddr is an IPv4 address as /proc/net/route writes it.
func hexAddr(s string) (netip.Addr, bool) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte{b[3], b[2], b[1], b[0]}), true
}

func fieldLines(b []byte) [][]string {
	var lines [][]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lines = append(lines, strings.Fields(sc.Text()))
	}
	return lines
}

// subnetPool holds the jail's candidate subnets: 198.18.0.0/15, set
// aside for benchmarks (RFC 2544) and routed by no ordinary server.
var subnetPool = netip.MustParsePrefix("198.18.0.0/15")

// jailSubnet is the first /24 of subnetPool that overlaps none of used:
// inside the jail, its addresses are slirp4netns's (the gateway .2, the
// DNS forwarder .3, the jail .100), so the booted system's networks must
// lie outside it. ok is false when every one is used.
func jailSubnet(used []netip.Prefix) (subnet netip.Prefix, ok bool) {
	a := subnetPool.Addr().As4()
	for n := 0; n < 512; n++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{a[0], a[1] + byte(n>>8), byte(n), 0}), 24)
		free := true
		for _, u := range used {
			if u.Overlaps(p) {
				free = false
				break
			}
		}
		if free {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// readRoutes reads the routing table of drd's own network namespace from
// procDir: the namespace slirp4netns makes the jail's connections from.
func readRoutes(procDir string) hostRoutes {
	r4, _ := os.ReadFile(filepath.Join(procDir, "net/route"))
	return parseRoutes(r4)
}

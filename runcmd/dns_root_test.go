package runcmd

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeResolver answers every DNS question on addr:53 (UDP) with an A
// record of answer, and counts the questions.
func fakeResolver(t *testing.T, addr string, answer [4]byte) *atomic.Int32 {
	t.Helper()
	c, err := net.ListenPacket("udp4", addr+":53")
	if err != nil {
		t.Skipf("no resolver on %s:53 for the test: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	var n atomic.Int32
	go func() {
		buf := make([]byte, 512)
		for {
			k, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			q := buf[:k]
			end := bytes.IndexByte(q[12:], 0)
			if k < 12 || end < 0 || 12+end+5 > k {
				continue
			}
			n.Add(1)
			r := append([]byte{q[0], q[1], 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0}, q[12:12+end+5]...)
			r = append(r, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
			r = append(r, answer[:]...)
			c.WriteTo(r, from)
		}
	}()
	return &n
}

// TestJailDNSOnLoopback: an image whose resolver is on the machine's
// loopback (here a resolver of the test on the booted system's 127.0.x.y,
// as systemd-resolved's 127.0.0.53) resolves names in the jail's own
// network, through slirp4netns; the image's resolv.conf and the booted
// system's are unchanged, and slirp4netns is gone after.
func TestJailDNSOnLoopback(t *testing.T) {
	root := minbase(t)
	if !readRoutes("/proc").out {
		t.Skip("this machine has no default route: the jail gets no network")
	}
	addr := fmt.Sprintf("127.0.53.%d", 2+os.Getpid()%250)
	queries := fakeResolver(t, addr, [4]byte{192, 0, 2, 77})
	conf := filepath.Join(root, "etc/resolv.conf")
	old, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(conf, old, 0o644) })
	mine := "# the image's own\nnameserver " + addr + "\noptions timeout:2 attempts:1\n"
	if err := os.WriteFile(conf, []byte(mine), 0o644); err != nil {
		t.Fatal(err)
	}
	hostConf, _ := os.ReadFile("/etc/resolv.conf")

	in := planInput(Options{Root: "/", Argv: []string{"sh", "-c", "cat /etc/resolv.conf; getent hosts drd-dns-test.example"}}, "sysimage_001", root)
	in.Staging = false // no policy-rc.d placeholder to remove after: runJail does not
	_, out, err := runJail(t, context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "192.0.2.77") || queries.Load() == 0 {
		t.Errorf("the jail did not resolve through the image's resolver on the booted system's %s (%d questions reached it):\n%s", addr, queries.Load(), out)
	}
	if b, _ := os.ReadFile(conf); string(b) != mine {
		t.Errorf("the image's resolv.conf changed:\n%s", b)
	}
	if b, _ := os.ReadFile("/etc/resolv.conf"); !bytes.Equal(b, hostConf) {
		t.Errorf("the booted system's resolv.conf changed:\n%s", b)
	}
	if ps := procsWith("--disable-host-loopback"); len(ps) > 0 {
		t.Errorf("slirp4netns still runs after the jail: %v", ps)
	}
}

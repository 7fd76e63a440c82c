package runcmd

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// DNS in the jail's own network (-x network=true). An image whose
// resolver is on the machine's loopback (systemd-resolved's 127.0.0.53,
// a local dnsmasq or unbound on 127.0.0.1) names an address that, in the
// jail's namespace, is the jail's own loopback, where nobody answers.
// drd then shows the jail a resolv.conf (on a tmpfs of the jail, bound
// over the image's file or written where the image's link points in the
// jail's /run: the image's file is not changed) naming dnsAddr of the
// jail's subnet instead, where slirp4netns's DNS forwarder sends the
// queries on to the image's resolver on the booted system's loopback.
// That resolver, on port 53, is the one service of the booted system's
// loopback the jail reaches; with any other resolver the forwarder is
// off (--disable-dns).
//
// slirp4netns takes the resolver it forwards to from /etc/resolv.conf
// (it has no option for it): drd starts it through itself (SlirpArg) in
// a mount namespace of its own, in which a file naming that resolver, on
// a detached tmpfs, is mounted over /etc/resolv.conf. Nothing of the
// booted system changes.

// dnsAddr is the address of slirp4netns's DNS forwarder in the jail's
// subnet (its .3).
func dnsAddr(subnet netip.Prefix) string {
	return subnet.Addr().Next().Next().Next().String()
}

// SlirpArg is the hidden first argument under which drd starts
// slirp4netns in a mount namespace of its own:
// drd __slirp4netns RESOLVER|- SLIRP4NETNS ARGS...
const SlirpArg = "__slirp4netns"

// noResolver is SlirpArg's RESOLVER when slirp4netns forwards no DNS.
const noResolver = "-"

// jailResolv rewrites the resolv.conf conf for the jail's own network:
// the first IPv4 loopback nameserver becomes fwd, and host is that
// resolver's address; other loopback nameservers (unreachable in the
// jail) are commented out. Every other line is kept. host is "" (and
// out nil) when conf names no IPv4 loopback resolver.
func jailResolv(conf []byte, fwd string) (out []byte, host string) {
	var b bytes.Buffer
	lines := strings.SplitAfter(string(conf), "\n")
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 || f[0] != "nameserver" {
			b.WriteString(l)
			continue
		}
		a, err := netip.ParseAddr(f[1])
		if err != nil || !a.Unmap().IsLoopback() {
			b.WriteString(l)
			continue
		}
		if host == "" && a.Unmap().Is4() {
			host = a.Unmap().String()
			fmt.Fprintf(&b, "# drd runcmd: %s is the booted system's resolver, reached through slirp4netns at %s\nnameserver %s\n", host, fwd, fwd)
			continue
		}
		b.WriteString("# drd runcmd: unreachable in the runcmd environment: " + strings.TrimRight(l, "\n") + "\n")
	}
	if host == "" {
		return nil, ""
	}
	return b.Bytes(), host
}

// slirpMain is drd __slirp4netns RESOLVER|- SLIRP4NETNS ARGS...: in the
// mount namespace of its own drd started it in, it makes every mount
// private and mounts a file naming RESOLVER ("-": none) over
// /etc/resolv.conf, then becomes slirp4netns.
func slirpMain(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "drd __slirp4netns: usage: drd __slirp4netns RESOLVER|- SLIRP4NETNS [ARGS]")
		return 2
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fmt.Fprintf(os.Stderr, "drd: making the mounts private for slirp4netns: %v\n", err)
		return 1
	}
	if args[0] != noResolver {
		if err := resolverOverlay(args[0]); err != nil {
			fmt.Fprintf(os.Stderr, "drd: the jail's resolver %s for slirp4netns: %v\n", args[0], err)
			return 1
		}
	}
	err := unix.Exec(args[1], args[1:], []string{})
	fmt.Fprintf(os.Stderr, "drd: starting %s: %v\n", args[1], err)
	return 1
}

// resolverOverlay mounts a resolv.conf naming only addr over
// /etc/resolv.conf, in this process's mount namespace, which must be its
// own, its mounts private.
func resolverOverlay(addr string) error {
	if _, err := netip.ParseAddr(addr); err != nil {
		return err
	}
	fs, err := newTmpfs("drd-resolv", 1<<16, unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return err
	}
	defer fs.Close()
	if err := writeAt(int(fs.Fd()), "resolv.conf", 0o644, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "nameserver %s\n", addr)
		return err
	}); err != nil {
		return err
	}
	tree, err := unix.OpenTree(int(fs.Fd()), "resolv.conf", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return fmt.Errorf("open_tree: %w", err)
	}
	defer unix.Close(tree)
	// The booted system's /etc/resolv.conf may be a link
	// (systemd-resolved's): the file it leads to is covered, in this
	// namespace only.
	if err := unix.MoveMount(tree, "", unix.AT_FDCWD, "/etc/resolv.conf", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_SYMLINKS); err != nil {
		return fmt.Errorf("mounting over /etc/resolv.conf: %w", err)
	}
	return nil
}

package clone

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// IdentityFiles are the paths (shell patterns) that make a host itself:
// an import keeps this host's and drops the exporter's. The administrator
// adds more in /etc/drd/identity.list (IdentityListPath).
var IdentityFiles = []string{
	"/etc/hostname",
	"/etc/hosts",
	"/etc/machine-id",
	"/var/lib/dbus/machine-id",
	"/etc/ssh/ssh_host_*",
	"/etc/network/interfaces",
	"/etc/network/interfaces.d",
	"/etc/netplan",
	"/etc/systemd/network",
	"/etc/NetworkManager/system-connections",
	"/etc/fstab",
	"/etc/crypttab",
}

// IdentityListPath is the administrator's list of more identity paths,
// relative to the root.
const IdentityListPath = "etc/drd/identity.list"

// Bounds of an identity list.
const (
	maxIdentityPaths = 1024
	maxIdentityLine  = 4096
)

// ParseIdentityList reads an identity list: one absolute, clean path per
// line, shell patterns (* ? [...]) allowed within a name; blank lines and
// lines starting with # are ignored.
func ParseIdentityList(data []byte) ([]string, error) {
	var out []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		bad := func(why string) error {
			return fmt.Errorf("line %d: %q %s: write one absolute path (shell patterns allowed) per line", i+1, line, why)
		}
		switch {
		case len(line) > maxIdentityLine:
			return nil, bad("is too long")
		case !strings.HasPrefix(line, "/") || line == "/":
			return nil, bad("is not an absolute path below /")
		case path.Clean(line) != line:
			return nil, bad("is not clean")
		case strings.ContainsRune(line, 0):
			return nil, bad("holds a NUL")
		case slices.Contains(strings.Split(line, "/"), ".."):
			return nil, bad(`has ".."`)
		}
		if _, err := path.Match(line, ""); err != nil {
			return nil, bad("is not a valid pattern")
		}
		if out = append(out, line); len(out) > maxIdentityPaths {
			return nil, fmt.Errorf("more than %d paths", maxIdentityPaths)
		}
	}
	return out, nil
}

// identityPaths are the built-in identity paths and those of root's
// identity list.
func identityPaths(root string) ([]string, error) {
	paths := slices.Clone(IdentityFiles)
	data, err := os.ReadFile(filepath.Join(root, IdentityListPath))
	if errors.Is(err, os.ErrNotExist) {
		return paths, nil
	}
	if err != nil {
		return nil, err
	}
	more, err := ParseIdentityList(data)
	if err != nil {
		return nil, fmt.Errorf("/%s: %w", IdentityListPath, err)
	}
	return append(paths, more...), nil
}

// keepIdentity makes the identity paths of the image at dst (just
// imported) those of the booted image at src: what dst has there is
// removed, what src has is copied (cp -a: owners, modes, times, extended
// attributes). No link in dst on the way to a path is followed.
func (c *run) keepIdentity(ctx context.Context, src, dst string, paths []string) error {
	for _, p := range paths {
		rel := strings.TrimPrefix(p, "/")
		if err := noLinkOnTheWay(dst, path.Dir(rel)); err != nil {
			return fmt.Errorf("keeping this host's %s: %w", p, err)
		}
		old, _ := filepath.Glob(filepath.Join(dst, rel))
		for _, o := range old {
			if err := os.RemoveAll(o); err != nil {
				return fmt.Errorf("removing the exporter's %s: %w", o, err)
			}
		}
		mine, _ := filepath.Glob(filepath.Join(src, rel))
		for _, m := range mine {
			r, _ := filepath.Rel(src, m)
			to := filepath.Join(dst, r)
			if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
				return fmt.Errorf("keeping this host's /%s: %w", r, err)
			}
			if _, err := c.opt.Runner.Run(ctx, "cp", "-a", "--", m, to); err != nil {
				return fmt.Errorf("keeping this host's /%s: %w", r, err)
			}
			c.r.Note("kept this host's /%s", r)
		}
	}
	return nil
}

// noLinkOnTheWay checks that the directories leading to rel inside root
// (those that exist) are no symbolic links.
func noLinkOnTheWay(root, rel string) error {
	cur := root
	for _, part := range strings.Split(rel, "/") {
		if part == "." || part == "" {
			continue
		}
		cur = filepath.Join(cur, part)
		var st unix.Stat_t
		err := unix.Lstat(cur, &st)
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		if err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return fmt.Errorf("%s is not a directory in the imported image", cur)
		}
	}
	return nil
}

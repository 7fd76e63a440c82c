package runcmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/internal/mountinfo"
)

// buildTree carries out the mounts of spec in the init's private mount
// namespace, then makes the image the root: pivot_root, and the booted
// system's tree is detached, unreachable from the jail. It returns the
// placeholder files it created in the image.
func buildTree(spec *Spec) (placeholders []string, err error) {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, fmt.Errorf("making the jail's mounts private: %w", err)
	}
	root := spec.Root
	if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return nil, fmt.Errorf("binding the image %s onto itself: %w", root, err)
	}
	if err := noDevices(root); err != nil {
		return nil, err
	}
	for _, m := range spec.Mounts {
		created, err := apply(root, m)
		if created != "" {
			placeholders = append(placeholders, created)
		}
		if err != nil {
			return placeholders, fmt.Errorf("building the jail in %s: %s %s: %w", root, m.Kind, m.Target, err)
		}
	}
	if err := unix.Chdir(root); err != nil {
		return placeholders, err
	}
	// pivot_root(".", "."): the old root ends up on top of the new one;
	// detaching it leaves the image alone at /.
	if err := unix.PivotRoot(".", "."); err != nil {
		return placeholders, fmt.Errorf("pivot_root into %s: %w", root, err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return placeholders, fmt.Errorf("detaching the booted system's tree: %w", err)
	}
	return placeholders, unix.Chdir("/")
}

// noDevices remounts the image's file systems nodev in the jail: a
// device node in the image (or one made with mknod) opens nothing, so the
// booted system's disks stay out of reach. Every other flag is kept.
func noDevices(root string) error {
	ms, err := mountinfo.Read("/proc")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, m := range ms {
		// Every mount point at or below root, by path: a path names the
		// mount on top (mountinfo.Under would skip the bind of root onto
		// itself, whose parent is covered).
		at := filepath.Clean(m.MountPoint)
		if seen[at] || (at != root && !strings.HasPrefix(at, root+"/")) {
			continue
		}
		seen[at] = true
		var st unix.Statfs_t
		if err := unix.Statfs(at, &st); err != nil {
			return fmt.Errorf("reading the flags of %s: %w", at, err)
		}
		flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_NODEV)
		for _, f := range []struct{ st, ms uintptr }{
			{unix.ST_RDONLY, unix.MS_RDONLY}, {unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
			{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
		} {
			if uintptr(st.Flags)&f.st != 0 {
				flags |= f.ms
			}
		}
		if err := unix.Mount("", at, "", flags, ""); err != nil {
			return fmt.Errorf("remounting %s nodev: %w", at, err)
		}
	}
	return nil
}

// apply does one step of the tree. created is the placeholder it made in
// the image, a path in the jail: a file, or the topmost of the
// directories it made.
func apply(root string, m Mount) (created string, err error) {
	target, err := inRoot(root, m.Target)
	if err != nil {
		return "", err
	}
	if m.Optional {
		if _, err := os.Lstat(target); err != nil {
			return "", nil
		}
	}
	switch m.Kind {
	case KindDir:
		if _, err := os.Lstat(target); err == nil {
			return "", nil
		}
		top := m.Target
		for d := filepath.Dir(m.Target); d != "/"; d = filepath.Dir(d) {
			if p, err := inRoot(root, d); err == nil {
				if _, err := os.Lstat(p); err != nil {
					top = d
				}
			}
		}
		if !m.Placeholder {
			top = ""
		}
		if err := os.MkdirAll(target, 0o755); err != nil {
			return "", err
		}
		if m.Mode != 0 {
			return top, os.Chmod(target, fs.FileMode(m.Mode)&fs.ModePerm|modeBits(m.Mode))
		}
		return top, nil
	case KindFile:
		if _, err := os.Lstat(target); err == nil {
			return "", nil
		}
		f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return "", err
		}
		if !m.Placeholder {
			return "", f.Close()
		}
		return m.Target, f.Close()
	case KindSymlink:
		os.Remove(target)
		return "", os.Symlink(m.Source, target)
	case KindWrite:
		return "", os.WriteFile(target, []byte(m.Data), fs.FileMode(m.Mode))
	case KindFS:
		return "", unix.Mount(m.Source, target, m.Type, m.Flags, m.Data)
	case KindBind:
		if err := unix.Mount(m.Source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return "", err
		}
		if !m.ReadOnly {
			return "", nil
		}
		return "", unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|m.Flags, "")
	}
	return "", fmt.Errorf("unknown kind of step %q", m.Kind)
}

func modeBits(mode uint32) fs.FileMode {
	var m fs.FileMode
	if mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// inRoot turns a path of the jail into a path on the booted system,
// following symbolic links inside the image as the jail would see them:
// an absolute link is taken relative to root, and ".." never climbs out.
// The last component is not followed when it is a link.
func inRoot(root, p string) (string, error) {
	parts := strings.Split(strings.Trim(filepath.Clean("/"+p), "/"), "/")
	cur := "/"
	for links := 0; len(parts) > 0; {
		name := parts[0]
		parts = parts[1:]
		if name == "" || name == "." {
			continue
		}
		if name == ".." {
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, name)
		if len(parts) == 0 {
			cur = next
			break
		}
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			cur = next // a missing component is made later
			continue
		}
		if links++; links > 40 {
			return "", fmt.Errorf("%s: too many symbolic links in the image", p)
		}
		dest, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(dest) {
			cur = "/"
		}
		parts = append(strings.Split(strings.Trim(dest, "/"), "/"), parts...)
	}
	if !strings.HasPrefix(filepath.Clean(cur), "/") {
		return "", errors.New("path escapes the image: " + p)
	}
	return filepath.Join(root, cur), nil
}

package runcmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/internal/inroot"
	"github.com/drd-linux/drd/internal/mountinfo"
)

// buildTree carries out the mounts of spec in the init's private mount
// namespace, then makes the image the root: pivot_root, and the booted
// system's tree is detached, unreachable from the jail. It returns the
// placeholder files it created in the image.
func buildTree(spec *Spec, fds []*os.File) (placeholders []string, err error) {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, fmt.Errorf("making the jail's mounts private: %w", err)
	}
	root := spec.Root
	if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return nil, fmt.Errorf("binding the image %s onto itself: %w", root, err)
	}
	devs, err := noDevices(root)
	if err != nil {
		return nil, err
	}
	b := builder{tr: inroot.Mounts(root), imageDevs: devs, fds: fds}
	for _, m := range spec.Mounts {
		created, err := b.apply(m)
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
// booted system's disks stay out of reach. Every other flag is kept. It
// returns the devices of the image's file systems.
func noDevices(root string) (map[uint64]bool, error) {
	ms, err := mountinfo.Read("/proc")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	devs := map[uint64]bool{}
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
			return nil, fmt.Errorf("reading the flags of %s: %w", at, err)
		}
		var fst unix.Stat_t
		if err := unix.Stat(at, &fst); err == nil {
			devs[fst.Dev] = true
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
			return nil, fmt.Errorf("remounting %s nodev: %w", at, err)
		}
	}
	return devs, nil
}

// builder does the steps of the tree. Every target is resolved inside
// the image (a link the image holds never leads a mount, a file or a
// directory onto the booted system's tree), and mounts are made on
// descriptors, not paths.
type builder struct {
	tr        inroot.Tree
	imageDevs map[uint64]bool // the image's own file systems
	fds       []*os.File      // detached mounts handed over by drd (KindMountFD)
}

// onImage tells whether the directory p of the jail is on one of the
// image's own file systems (not on a tmpfs of the jail).
func (b builder) onImage(p string) bool {
	fi, err := b.tr.Stat(p)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && b.imageDevs[uint64(st.Dev)]
}

// target opens the mount point p, which must be no symbolic link.
func (b builder) target(p string) (*os.File, error) {
	f, err := b.tr.Open(p, unix.O_PATH|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		dest, _ := b.tr.Readlink(p)
		err = fmt.Errorf("%s is a symbolic link (to %s) in the image: drd mounts nothing on a link; remove it and run drd runcmd again", p, dest)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// apply does one step of the tree. created is the placeholder it made in
// the image, a path in the jail: a file, or the topmost of the
// directories it made.
func (b builder) apply(m Mount) (created string, err error) {
	tr := b.tr
	if m.Optional {
		if _, err := tr.Lstat(m.Target); err != nil {
			return "", nil
		}
	}
	switch m.Kind {
	case KindDir:
		if _, err := tr.Lstat(m.Target); err == nil {
			return "", nil
		}
		top := m.Target
		for d := filepath.Dir(m.Target); d != "/"; d = filepath.Dir(d) {
			if _, err := tr.Lstat(d); err != nil {
				top = d
			}
		}
		if err := tr.MkdirAll(m.Target, 0o755); err != nil {
			return "", err
		}
		if !m.Placeholder || !b.onImage(filepath.Dir(top)) {
			top = "" // on a tmpfs of the jail: gone with it
		}
		if m.Mode != 0 {
			f, err := tr.Open(m.Target, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
			if err != nil {
				return top, err
			}
			defer f.Close()
			return top, f.Chmod(fs.FileMode(m.Mode)&fs.ModePerm | modeBits(m.Mode))
		}
		return top, nil
	case KindFile:
		if _, err := tr.Lstat(m.Target); err == nil {
			return "", nil
		}
		f, err := tr.Open(m.Target, os.O_CREATE|os.O_EXCL|os.O_WRONLY|unix.O_NOFOLLOW, 0o644)
		if err != nil {
			return "", err
		}
		if !m.Placeholder || !b.onImage(filepath.Dir(m.Target)) {
			return "", f.Close()
		}
		return m.Target, f.Close()
	case KindSymlink:
		tr.Remove(m.Target)
		return "", tr.Symlink(m.Source, m.Target)
	case KindWrite:
		return "", tr.WriteFile(m.Target, []byte(m.Data), fs.FileMode(m.Mode))
	case KindFS:
		t, err := b.target(m.Target)
		if err != nil {
			return "", err
		}
		defer t.Close()
		return "", unix.Mount(m.Source, fdPath(t), m.Type, m.Flags, m.Data)
	case KindBind:
		return "", b.bind(m)
	case KindNode:
		dir, base := filepath.Split(m.Target)
		d, err := tr.Open(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
		if err != nil {
			return "", err
		}
		defer d.Close()
		if err := unix.Mknodat(int(d.Fd()), base, unix.S_IFCHR|0o666, int(m.Dev)); err != nil {
			return "", err
		}
		// mknod obeys the umask: the mode is set again.
		return "", unix.Fchmodat(int(d.Fd()), base, m.Mode, 0)
	case KindReadOnly:
		t, err := b.target(m.Target)
		if err != nil {
			return "", err
		}
		defer t.Close()
		return "", unix.MountSetattr(int(t.Fd()), "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY})
	case KindMountFD:
		if m.FD < 0 || m.FD >= len(b.fds) {
			return "", fmt.Errorf("no mount handed over as %d", m.FD)
		}
		t, err := b.target(m.Target)
		if err != nil {
			return "", err
		}
		defer t.Close()
		return "", unix.MoveMount(int(b.fds[m.FD].Fd()), "", int(t.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	}
	return "", fmt.Errorf("unknown kind of step %q", m.Kind)
}

// bind clones the tree at m.Source (a path on the booted system, with
// the mounts below it), sets its flags on every mount of the clone, and
// attaches it at m.Target.
func (b builder) bind(m Mount) error {
	fd, err := unix.OpenTree(unix.AT_FDCWD, m.Source, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("cloning %s: %w", m.Source, err)
	}
	src := os.NewFile(uintptr(fd), m.Source)
	defer src.Close()
	if m.Dir {
		fi, err := src.Stat()
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", m.Source)
		}
	}
	attr := mountAttrs(m.Flags)
	if m.ReadOnly {
		attr |= unix.MOUNT_ATTR_RDONLY
	}
	if attr != 0 {
		if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &unix.MountAttr{Attr_set: attr}); err != nil {
			return fmt.Errorf("setting the flags of %s: %w", m.Source, err)
		}
	}
	t, err := b.target(m.Target)
	if err != nil {
		return err
	}
	defer t.Close()
	return unix.MoveMount(fd, "", int(t.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

// mountAttrs turns MS_ flags into the MOUNT_ATTR_ flags of mount_setattr.
func mountAttrs(flags uintptr) uint64 {
	var a uint64
	for _, f := range []struct {
		ms   uintptr
		attr uint64
	}{{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY}, {unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID}, {unix.MS_NODEV, unix.MOUNT_ATTR_NODEV}, {unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC}} {
		if flags&f.ms != 0 {
			a |= f.attr
		}
	}
	return a
}

// fdPath names an open file for mount(2): the mount lands on the file
// opened, whatever its path has become since.
func fdPath(f *os.File) string { return fmt.Sprintf("/proc/self/fd/%d", f.Fd()) }

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

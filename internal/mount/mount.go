// Package mount is drd's one scoped mount: With mounts a file system at a
// temporary directory of its own, calls a function with it and always
// unmounts it after, reporting an unmount that fails together with the
// function's own error. Open is the same mount for a caller that keeps it
// across several steps and unmounts it with the function Open returns,
// whose error says the same. At mounts at a directory the caller names,
// for a mount that outlives the command (drd mount's under
// /var/opt/drd/mnts), and Unmount undoes it in a later command. (The
// clone's target while it is built and the namespaces of runcmd and
// STAGEISL do not come here.)
package mount

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Spec says what to mount and how.
type Spec struct {
	// Source is the device, or for Bind the directory, to mount.
	Source string
	// Type is the file-system type ("" for a bind mount or to let the
	// kernel try).
	Type string
	// Flags are mount(2) flags (unix.MS_RDONLY, ...).
	Flags uintptr
	// Data are the file-system options ("noload", ...).
	Data string
	// Bind bind-mounts Source (Type and Data are then ignored).
	Bind bool
	// Private makes the mount private after mounting: nothing mounted
	// under it propagates to peers, nor from them into it.
	Private bool
	// Detach falls back to a lazy unmount (MNT_DETACH) when the plain
	// one fails; only a failed detach is then reported.
	Detach bool
	// Dir is the directory for the temporary mount point ("" for the
	// default temporary directory); Pattern its name (os.MkdirTemp).
	Dir, Pattern string
}

// ReadOnly are the flags of a mount that only reads: read-only, no
// devices, no set-uid, no programs.
const ReadOnly = unix.MS_RDONLY | unix.MS_NODEV | unix.MS_NOSUID | unix.MS_NOEXEC

// With mounts s at a new temporary directory, calls fn with it, then
// unmounts and removes the directory, whatever fn returned. An unmount
// that fails (a process still using the file system: EBUSY) is joined to
// fn's error, naming the source and the directory.
func With(s Spec, fn func(dir string) error) (err error) {
	dir, unmount, err := Open(s)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, unmount()) }()
	return fn(dir)
}

// Open mounts s at a new temporary directory and returns it, with the
// function that unmounts it and removes the directory. That function's
// error names the source and the directory (and, for EBUSY, what to do);
// once it succeeded, calling it again does nothing.
func Open(s Spec) (dir string, unmount func() error, err error) {
	pattern := s.Pattern
	if pattern == "" {
		pattern = "drd-mount-"
	}
	dir, err = os.MkdirTemp(s.Dir, pattern)
	if err != nil {
		return "", nil, fmt.Errorf("making a mount point for %s: %w", s.Source, err)
	}
	unmount, err = mountAt(s, dir, true)
	if err != nil {
		os.Remove(dir)
		return "", nil, err
	}
	return dir, unmount, nil
}

// At mounts s at dir, a directory that exists (s.Dir and s.Pattern are
// not used), and returns the function that unmounts it, as Open's does
// but leaving dir in place. For a mount that outlives the call (drd
// mount's): a later command unmounts it with Unmount.
func At(s Spec, dir string) (unmount func() error, err error) {
	return mountAt(s, dir, false)
}

// Unmount unmounts dir, mounted by At in an earlier command; its error
// names dir (EBUSY: a process still uses it; the caller may say which).
func Unmount(dir string) error {
	if err := unix.Unmount(dir, 0); err != nil {
		return fmt.Errorf("unmounting %s: %w", dir, err)
	}
	return nil
}

// mountAt mounts s at dir; the function it returns unmounts it and, with
// remove, removes dir.
func mountAt(s Spec, dir string, remove bool) (unmount func() error, err error) {
	typ, flags, data := s.Type, s.Flags, s.Data
	if s.Bind {
		typ, flags, data = "", unix.MS_BIND, ""
	}
	if err := unix.Mount(s.Source, dir, typ, flags, data); err != nil {
		how := ""
		if s.Flags&unix.MS_RDONLY != 0 {
			how = " read-only"
		}
		return nil, fmt.Errorf("mounting %s%s at %s: %w", s.Source, how, dir, err)
	}
	done := false
	unmount = func() error {
		if done {
			return nil
		}
		err := unmountDir(s, dir, remove)
		done = err == nil
		return err
	}
	if s.Private {
		if err := unix.Mount("", dir, "", unix.MS_PRIVATE, ""); err != nil {
			return nil, errors.Join(fmt.Errorf("making the mount of %s at %s private: %w", s.Source, dir, err), unmount())
		}
	}
	if s.Bind && s.Flags != 0 {
		// A bind mount takes its other flags only by a remount.
		if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|s.Flags, ""); err != nil {
			return nil, errors.Join(fmt.Errorf("remounting the bind mount of %s at %s: %w", s.Source, dir, err), unmount())
		}
	}
	return unmount, nil
}

// unmountDir undoes mountAt's mount at dir and, with remove, removes
// dir; a directory still mounted stays.
func unmountDir(s Spec, dir string, remove bool) error {
	err := unix.Unmount(dir, 0)
	if err != nil && s.Detach {
		err = unix.Unmount(dir, unix.MNT_DETACH)
	}
	if err == nil {
		if remove {
			os.Remove(dir)
		}
		return nil
	}
	what := ""
	if errors.Is(err, unix.EBUSY) {
		what = ": a process still uses it (fuser -vm " + dir + "); unmount it when it is done"
	}
	return fmt.Errorf("unmounting %s from %s: %w%s", s.Source, dir, err, what)
}

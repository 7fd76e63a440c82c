// Package inroot opens, reads and writes paths inside a directory tree
// that someone else controls: an inactive image, whose package scripts
// may have replaced any directory or file of it by a symbolic link.
//
// Every path is resolved by the kernel (openat2) as if the tree were the
// root: an absolute link or a ".." stops at the tree's top, magic links
// (/proc/PID/root, /proc/PID/fd/N) are refused, and so, with Image, is any
// other file system than the tree's own. The last component of a path
// that is written, removed or examined with Lstat is never followed: a
// link there is replaced, removed or reported as a link.
package inroot

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// Tree is a directory tree on this machine whose contents are not trusted.
type Tree struct {
	Dir     string // the tree's top, a trusted path on this machine
	resolve uint64
}

// Image is the tree at dir, its own file system only: a path that leads
// onto another mount (another file system of the image, or a /proc or
// /sys mounted in it) fails with EXDEV.
func Image(dir string) Tree {
	return Tree{Dir: dir, resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV}
}

// Mounts is the tree at dir with the file systems mounted below it (an
// image's /var or /boot mounted by drd): links still never leave dir.
func Mounts(dir string) Tree {
	return Tree{Dir: dir, resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
}

// Error is a failure on a path inside a tree.
type Error struct {
	Op   string
	Dir  string // the tree
	Path string // inside it
	Err  error
}

func (e *Error) Error() string {
	why := e.Err.Error()
	switch {
	case errors.Is(e.Err, unix.EXDEV):
		why = "it leads onto another file system (a symbolic link or mount planted in the image?)"
	case errors.Is(e.Err, unix.ELOOP):
		why = "too many links, or a link through /proc (a symbolic link planted in the image?)"
	}
	return fmt.Sprintf("%s %s in %s: %s", e.Op, e.Path, e.Dir, why)
}

func (e *Error) Unwrap() error { return e.Err }

func (t Tree) err(op, name string, err error) error {
	if err == nil {
		return nil
	}
	var ie *Error
	if errors.As(err, &ie) {
		return err
	}
	return &Error{Op: op, Dir: t.Dir, Path: "/" + clean(name), Err: err}
}

// clean makes name relative to the tree: "" for its top.
func clean(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

// openAt resolves rel (relative, clean) in the tree with the flags.
func (t Tree) openAt(rel string, flags int, perm uint32) (int, error) {
	root, err := unix.Open(t.Dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(root)
	if rel == "" {
		rel = "."
	}
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Mode: uint64(perm), Resolve: t.resolve}
	for {
		fd, err := unix.Openat2(root, rel, &how)
		if err == unix.EAGAIN || err == unix.EINTR { // a rename elsewhere raced the lookup
			continue
		}
		return fd, err
	}
}

// parent opens the directory that holds name, and returns its last
// component ("" for the tree's top).
func (t Tree) parent(name string) (int, string, error) {
	rel := clean(name)
	dir, base := path.Split(rel)
	fd, err := t.openAt(strings.TrimSuffix(dir, "/"), unix.O_PATH|unix.O_DIRECTORY, 0)
	return fd, base, err
}

// Open opens name with flag (os.O_*) and perm for a file it creates. The
// last component is followed, inside the tree, unless flag has
// O_NOFOLLOW or O_CREATE|O_EXCL.
func (t Tree) Open(name string, flag int, perm fs.FileMode) (*os.File, error) {
	fd, err := t.openAt(clean(name), flag, uint32(perm.Perm()))
	if err != nil {
		return nil, t.err("opening", name, err)
	}
	return os.NewFile(uintptr(fd), path.Join(t.Dir, clean(name))), nil
}

// ReadFile reads the file name.
func (t Tree) ReadFile(name string) ([]byte, error) {
	f, err := t.Open(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, t.err("reading", name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, t.err("reading", name, errors.New("not a regular file"))
	}
	data, err := io.ReadAll(f)
	return data, t.err("reading", name, err)
}

// ReadDir lists the directory name.
func (t Tree) ReadDir(name string) ([]os.DirEntry, error) {
	f, err := t.Open(name, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	return ents, t.err("listing", name, err)
}

// Stat describes name, following a link at its end inside the tree.
func (t Tree) Stat(name string) (fs.FileInfo, error) {
	f, err := t.Open(name, unix.O_PATH, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	return fi, t.err("examining", name, err)
}

// Lstat describes name; a link at its end is described, not followed.
func (t Tree) Lstat(name string) (fs.FileInfo, error) {
	f, err := t.Open(name, unix.O_PATH|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	return fi, t.err("examining", name, err)
}

// Readlink reads the link name.
func (t Tree) Readlink(name string) (string, error) {
	dir, base, err := t.parent(name)
	if err != nil {
		return "", t.err("reading the link", name, err)
	}
	defer unix.Close(dir)
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(dir, base, buf)
	if err != nil {
		return "", t.err("reading the link", name, err)
	}
	return string(buf[:n]), nil
}

// Remove removes the file, link or empty directory name (a link, not
// what it points to).
func (t Tree) Remove(name string) error {
	dir, base, err := t.parent(name)
	if err != nil {
		return t.err("removing", name, err)
	}
	defer unix.Close(dir)
	if base == "" {
		return t.err("removing", name, errors.New("the tree's top is not removed"))
	}
	err = unix.Unlinkat(dir, base, 0)
	if err == unix.EISDIR || err == unix.EPERM {
		err = unix.Unlinkat(dir, base, unix.AT_REMOVEDIR)
	}
	return t.err("removing", name, err)
}

// MkdirAll makes the directory name and its missing parents with perm.
// An existing link on the way is followed inside the tree.
func (t Tree) MkdirAll(name string, perm fs.FileMode) error {
	rel := clean(name)
	if rel == "" {
		return nil
	}
	if fi, err := t.Stat(rel); err == nil {
		if !fi.IsDir() {
			return t.err("making the directory", name, unix.ENOTDIR)
		}
		return nil
	}
	dir, base := path.Split(rel)
	if err := t.MkdirAll(dir, perm); err != nil {
		return err
	}
	pfd, _, err := t.parent(rel)
	if err != nil {
		return t.err("making the directory", name, err)
	}
	defer unix.Close(pfd)
	if err := unix.Mkdirat(pfd, base, uint32(perm.Perm())); err != nil && err != unix.EEXIST {
		return t.err("making the directory", name, err)
	}
	return nil
}

// WriteFile writes data into name atomically: into a new file beside it,
// synced, then renamed over it; a link at name is replaced, never
// followed. The directory is synced too.
func (t Tree) WriteFile(name string, data []byte, perm fs.FileMode) error {
	dir, base, err := t.parent(name)
	if err != nil {
		return t.err("writing", name, err)
	}
	defer unix.Close(dir)
	if base == "" {
		return t.err("writing", name, unix.EISDIR)
	}
	// An O_PATH descriptor cannot be synced nor be the dirfd of a
	// create: open the directory itself, without following a link.
	d, err := unix.Openat(dir, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return t.err("writing", name, err)
	}
	defer unix.Close(d)
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := "." + base + "." + hex.EncodeToString(rnd[:])
	fd, err := unix.Openat(d, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
	if err != nil {
		return t.err("writing", name, err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Chmod(perm.Perm())
	}
	if werr == nil {
		werr = f.Sync()
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr == nil {
		werr = unix.Renameat(d, tmp, d, base)
	}
	if werr != nil {
		unix.Unlinkat(d, tmp, 0)
		return t.err("writing", name, werr)
	}
	return t.err("writing", name, unix.Fsync(d))
}

// Symlink makes newname a symbolic link to oldname; an existing newname
// is an error.
func (t Tree) Symlink(oldname, newname string) error {
	dir, base, err := t.parent(newname)
	if err != nil {
		return t.err("making the link", newname, err)
	}
	defer unix.Close(dir)
	return t.err("making the link", newname, unix.Symlinkat(oldname, dir, base))
}

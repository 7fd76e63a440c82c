package copyfs

import (
	"bytes"
	"strings"

	"golang.org/x/sys/unix"
)

// xattr is one extended attribute: user.*, trusted.*, security.* and the
// POSIX ACLs system.posix_acl_access / system.posix_acl_default, copied raw.
type xattr struct {
	name  string
	value []byte
}

// xattrIO reads and writes the extended attributes of one entry, either
// through an open file (fd >= 0) or through a path that is not followed
// (the l* calls, for symbolic links and device nodes).
type xattrIO struct {
	fd   int
	path string
}

func (x xattrIO) list(buf []byte) (int, error) {
	if x.fd >= 0 {
		return unix.Flistxattr(x.fd, buf)
	}
	return unix.Llistxattr(x.path, buf)
}

func (x xattrIO) get(name string, buf []byte) (int, error) {
	if x.fd >= 0 {
		return unix.Fgetxattr(x.fd, name, buf)
	}
	return unix.Lgetxattr(x.path, name, buf)
}

func (x xattrIO) set(name string, value []byte) error {
	if x.fd >= 0 {
		return unix.Fsetxattr(x.fd, name, value, 0)
	}
	return unix.Lsetxattr(x.path, name, value, 0)
}

func (x xattrIO) remove(name string) error {
	if x.fd >= 0 {
		return unix.Fremovexattr(x.fd, name)
	}
	return unix.Lremovexattr(x.path, name)
}

// readXattrs returns every extended attribute of the entry, sorted by name
// as the file system lists them. buf is scratch space (grown on ERANGE).
func readXattrs(x xattrIO, buf *[]byte) ([]xattr, error) {
	names, err := listXattrs(x, buf)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	out := make([]xattr, 0, len(names))
	for _, name := range names {
		v, err := getXattr(x, name, buf)
		if err == unix.ENODATA {
			continue // removed between list and get
		}
		if err != nil {
			return nil, &xattrError{op: "reading", name: name, err: err}
		}
		out = append(out, xattr{name: name, value: v})
	}
	return out, nil
}

func listXattrs(x xattrIO, buf *[]byte) ([]string, error) {
	for {
		n, err := x.list(*buf)
		if err == unix.ERANGE {
			size, err := x.list(nil)
			if err != nil {
				return nil, &xattrError{op: "listing", err: err}
			}
			*buf = make([]byte, size+1024)
			continue
		}
		if err == unix.ENOTSUP {
			return nil, nil // the file system has no extended attributes
		}
		if err != nil {
			return nil, &xattrError{op: "listing", err: err}
		}
		if n == 0 {
			return nil, nil
		}
		var names []string
		for _, b := range bytes.Split((*buf)[:n], []byte{0}) {
			if len(b) > 0 {
				names = append(names, string(b))
			}
		}
		return names, nil
	}
}

func getXattr(x xattrIO, name string, buf *[]byte) ([]byte, error) {
	for {
		n, err := x.get(name, *buf)
		if err == unix.ERANGE {
			size, err := x.get(name, nil)
			if err != nil {
				return nil, err
			}
			*buf = make([]byte, size+1024)
			continue
		}
		if err != nil {
			return nil, err
		}
		return append([]byte(nil), (*buf)[:n]...), nil
	}
}

// writeXattrs gives the entry exactly the attributes want. With reconcile,
// it first reads what the entry has and removes what want lacks (an ACL
// inherited from a default ACL, a stale value); without, it assumes a fresh
// entry that has none.
func writeXattrs(x xattrIO, want []xattr, reconcile bool, buf *[]byte) error {
	if reconcile {
		have, err := readXattrs(x, buf)
		if err != nil {
			return err
		}
		for _, h := range have {
			if v, ok := findXattr(want, h.name); ok && bytes.Equal(v, h.value) {
				want = removeXattr(want, h.name)
				continue
			} else if ok {
				continue // set below
			}
			if err := x.remove(h.name); err != nil && err != unix.ENODATA {
				return &xattrError{op: "removing", name: h.name, err: err}
			}
		}
	}
	for _, a := range want {
		if err := x.set(a.name, a.value); err != nil {
			return &xattrError{op: "setting", name: a.name, err: err}
		}
	}
	return nil
}

func findXattr(xs []xattr, name string) ([]byte, bool) {
	for _, a := range xs {
		if a.name == name {
			return a.value, true
		}
	}
	return nil, false
}

func removeXattr(xs []xattr, name string) []xattr {
	out := make([]xattr, 0, len(xs))
	for _, a := range xs {
		if a.name != name {
			out = append(out, a)
		}
	}
	return out
}

// equalXattrs tells whether two attribute sets hold the same names and values.
func equalXattrs(a, b []xattr) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		v, ok := findXattr(b, x.name)
		if !ok || !bytes.Equal(v, x.value) {
			return false
		}
	}
	return true
}

// xattrError is a failed extended-attribute call; the caller adds the path.
type xattrError struct {
	op, name string
	err      error
}

func (e *xattrError) Error() string {
	hint := ""
	if e.err == unix.ENOTSUP || e.err == unix.EOPNOTSUPP {
		hint = " (the target file system must support it: mount it with user_xattr and acl)"
		if strings.HasPrefix(e.name, "security.") {
			hint = " (the target must support security labels)"
		}
	}
	if e.name == "" {
		return e.op + " extended attributes: " + e.err.Error() + hint
	}
	return e.op + " extended attribute " + e.name + ": " + e.err.Error() + hint
}

func (e *xattrError) Unwrap() error { return e.err }

// Package etcmerge merges a file of /etc that changed on both sides of a
// sync: base is the file as cloned, clone is the clone's copy now and
// booted is the booted image's copy now. Account files are merged entry by
// entry (Accounts), other text files by line (Lines); what cannot be merged
// is a *Conflict. It does no I/O: bytes in, bytes out.
package etcmerge

import (
	"bytes"
	"path"
	"unicode/utf8"
)

// Conflict is a merge that needs an administrator: both sides changed the
// same thing differently. Reason says why in a few words.
type Conflict struct{ Reason string }

func (c *Conflict) Error() string { return c.Reason }

// accountFiles are the files of /etc merged entry by entry.
var accountFiles = map[string]bool{
	"passwd": true, "group": true, "shadow": true,
	"gshadow": true, "subuid": true, "subgid": true,
}

// File merges the file at path (in its image, such as /etc/passwd): when
// one side still equals base the other side is the result; account files
// go through Accounts, other text (valid UTF-8 without NUL) through Lines,
// and anything else is a *Conflict.
func File(p string, base, clone, booted []byte) ([]byte, error) {
	switch {
	case bytes.Equal(clone, base), bytes.Equal(clone, booted):
		return booted, nil
	case bytes.Equal(booted, base):
		return clone, nil
	}
	p = path.Clean("/" + p)
	if dir, name := path.Split(p); dir == "/etc/" && accountFiles[name] {
		return Accounts(name, base, clone, booted)
	}
	if !isText(base) || !isText(clone) || !isText(booted) {
		return nil, &Conflict{Reason: "binary file"}
	}
	return Lines(base, clone, booted)
}

// isText tells whether b is valid UTF-8 without NUL bytes.
func isText(b []byte) bool {
	return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0
}

package treecmp

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// This file renders values for the A and B of a Diff, for a person to read.

func typeName(t uint32) string {
	switch t {
	case unix.S_IFREG:
		return "regular file"
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFLNK:
		return "symbolic link"
	case unix.S_IFCHR:
		return "character device"
	case unix.S_IFBLK:
		return "block device"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "socket"
	}
	return fmt.Sprintf("type %#o", t)
}

func describe(e *entry) string { return typeName(e.typ()) }

func showTime(t unix.Timespec) string {
	return time.Unix(t.Sec, t.Nsec).UTC().Format("2006-01-02T15:04:05.000000000Z")
}

func showDev(d uint64) string { return fmt.Sprintf("%d:%d", unix.Major(d), unix.Minor(d)) }

func showGroup(g []string) string { return "{" + strings.Join(g, " ") + "}" }

func showMap(m []extent, size int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "data")
	for i, x := range m {
		if i == 8 {
			fmt.Fprintf(&b, " … (%d extents)", len(m))
			break
		}
		fmt.Fprintf(&b, " %d-%d", x.start, x.end)
	}
	if len(m) == 0 {
		b.WriteString(" none")
	}
	fmt.Fprintf(&b, " of %d", size)
	return b.String()
}

// showXattr renders an attribute value: ACLs as getfacl writes them
// (u::rw-,u:1234:r-x,…), text as a quoted string, anything else in hex.
func showXattr(name string, v []byte, ok bool) string {
	if !ok {
		return "(none)"
	}
	if name == "system.posix_acl_access" || name == "system.posix_acl_default" {
		if s, ok := showACL(v); ok {
			return s
		}
	}
	text := strings.TrimRight(string(v), "\x00")
	printable := len(text) > 0
	for _, c := range []byte(text) {
		if c < 0x20 || c > 0x7e {
			printable = false
			break
		}
	}
	if printable {
		return fmt.Sprintf("%q", text)
	}
	if len(v) > 48 {
		return "0x" + hex.EncodeToString(v[:48]) + fmt.Sprintf("… (%d bytes)", len(v))
	}
	return "0x" + hex.EncodeToString(v)
}

// showACL decodes a POSIX ACL extended attribute (version 2: a 4-byte
// header, then 8-byte entries of tag, permissions and id).
func showACL(v []byte) (string, bool) {
	if len(v) < 4 || binary.LittleEndian.Uint32(v) != 2 || (len(v)-4)%8 != 0 {
		return "", false
	}
	var parts []string
	for e := v[4:]; len(e) >= 8; e = e[8:] {
		tag, perm, id := binary.LittleEndian.Uint16(e), binary.LittleEndian.Uint16(e[2:]), binary.LittleEndian.Uint32(e[4:])
		rwx := []byte("---")
		for i, c := range "rwx" {
			if perm&(4>>i) != 0 {
				rwx[i] = byte(c)
			}
		}
		var who string
		switch tag {
		case 0x01:
			who = "u:"
		case 0x02:
			who = fmt.Sprintf("u:%d", id)
		case 0x04:
			who = "g:"
		case 0x08:
			who = fmt.Sprintf("g:%d", id)
		case 0x10:
			who = "m:"
		case 0x20:
			who = "o:"
		default:
			return "", false
		}
		parts = append(parts, who+":"+string(rwx))
	}
	return strings.Join(parts, ","), true
}

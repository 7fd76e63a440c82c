// Package imagesync brings into an inactive image (a clone) what the
// booted image changed since the clone, or since the last sync: drd sync.
// It is an incremental clone: the same copy engine (clone/copyfs), the
// same exactness (holes, hard links, xattrs, ACLs, capabilities, ns times).
//
// At clone time, and after each sync, the clone keeps a manifest of what
// drd wrote into it (Manifest, under /var/opt/drd/sync/): per entry the
// booted entry's identity when it was copied (type, inode, size, mtime,
// ctime) and what drd wrote (type, inode, size, mtime, ctime, mode, owner,
// xattr digest, link group); the booted image's packages then; and /etc
// as cloned, the base of the /etc merge. A sync walks the booted image,
// and only the entries whose identity changed are looked at further:
// unchanged files are never read. Where the clone's entry is still what
// drd wrote, the booted entry is copied (or deleted); where runcmd
// changed it too, it is merged (/etc) or left as a conflict.
package imagesync

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
)

// Entry types, as the manifest stores them; TypeNone: no entry.
const (
	TypeNone uint8 = iota
	TypeReg
	TypeDir
	TypeLink
	TypeChar
	TypeBlock
	TypeFifo
	typeMax = TypeFifo
)

// Ident is a booted entry as drd saw it when it copied it: enough to tell,
// from one lstat, whether it changed since (ctime catches chmod, chown,
// xattrs and writes that restore mtime).
type Ident struct {
	Type         uint8
	Ino          uint64
	Size         int64
	Mtime, Ctime int64 // ns since the epoch
}

// Written is what drd wrote into the clone for an entry.
type Written struct {
	Ident
	Mode     uint32 // permission and special bits (07777)
	Uid, Gid uint32
	Xattr    uint64 // XattrDigest of its extended attributes; 0: none
	Link     uint64 // link group (the clone's inode) when it has several names; 0: one name
}

// Entry flags.
const (
	// FlagConflict: the entry was in conflict at the last sync; Src is
	// the booted entry then.
	FlagConflict uint8 = 1 << iota
	flagsKnown         = FlagConflict
)

// Entry is one entry of a file system of the clone that drd wrote.
type Entry struct {
	Rel   string  // relative to its file system's root; "" is the root
	Src   Ident   // the booted entry then; Type TypeNone: there was none
	Dst   Written // what drd wrote; Type TypeNone: nothing of its own (the clone's is changed)
	Flags uint8
}

// FS is one file system of the image and its entries, sorted by Rel.
type FS struct {
	MountPoint string
	Entries    []Entry
}

// Manifest is what the clone keeps of what drd wrote into it.
type Manifest struct {
	FS []FS
	// Packages are the booted image's packages ("name:arch" -> version)
	// at the clone, or as the last sync left them.
	Packages map[string]string
	// Etc is the merge base: /etc's regular files as cloned (or last
	// synced), by path relative to /etc.
	Etc map[string][]byte
}

// Find returns the entry rel of file system i, or nil.
func (f *FS) Find(rel string) *Entry {
	i := sort.Search(len(f.Entries), func(i int) bool { return f.Entries[i].Rel >= rel })
	if i < len(f.Entries) && f.Entries[i].Rel == rel {
		return &f.Entries[i]
	}
	return nil
}

// magic starts every manifest; its last byte is the format's version.
var magic = []byte("DRDSYNC\x01")

// Limits that keep a damaged or hostile manifest from costing much.
const (
	maxPath    = 4096
	maxFS      = 64
	maxEtcFile = 1 << 20 // a bigger /etc file has no merge base: a conflict when both sides change it
)

// Encode writes the manifest: a compact binary form, paths sorted and
// front-coded, numbers as varints, a SHA-256 of the rest at the end.
func (m *Manifest) Encode() []byte {
	var b []byte
	b = append(b, magic...)
	b = binary.AppendUvarint(b, uint64(len(m.FS)))
	for _, f := range m.FS {
		b = appendString(b, f.MountPoint)
		b = binary.AppendUvarint(b, uint64(len(f.Entries)))
		prev := ""
		for _, e := range f.Entries {
			p := commonPrefix(prev, e.Rel)
			b = binary.AppendUvarint(b, uint64(p))
			b = appendString(b, e.Rel[p:])
			prev = e.Rel
			b = append(b, e.Src.Type, e.Dst.Type, e.Flags)
			if e.Src.Type != TypeNone {
				b = appendIdent(b, e.Src)
			}
			if e.Dst.Type != TypeNone {
				b = appendIdent(b, e.Dst.Ident)
				b = binary.AppendUvarint(b, uint64(e.Dst.Mode))
				b = binary.AppendUvarint(b, uint64(e.Dst.Uid))
				b = binary.AppendUvarint(b, uint64(e.Dst.Gid))
				b = binary.LittleEndian.AppendUint64(b, e.Dst.Xattr)
				b = binary.AppendUvarint(b, e.Dst.Link)
			}
		}
	}
	b = binary.AppendUvarint(b, uint64(len(m.Packages)))
	for _, k := range sortedKeys(m.Packages) {
		b = appendString(b, k)
		b = appendString(b, m.Packages[k])
	}
	b = binary.AppendUvarint(b, uint64(len(m.Etc)))
	for _, k := range sortedKeys(m.Etc) {
		b = appendString(b, k)
		b = appendString(b, string(m.Etc[k]))
	}
	return appendSum(b)
}

// appendSum seals a manifest body with its SHA-256.
func appendSum(b []byte) []byte {
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendIdent(b []byte, id Ident) []byte {
	b = binary.AppendUvarint(b, id.Ino)
	b = binary.AppendVarint(b, id.Size)
	b = binary.AppendVarint(b, id.Mtime)
	return binary.AppendVarint(b, id.Ctime)
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ErrBadManifest is matched by every error of Decode.
var ErrBadManifest = errors.New("damaged sync manifest")

// decoder reads a manifest, failing on the first thing out of place.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: at byte %d: %s", ErrBadManifest, d.off, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad number")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad number")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) byte() uint8 {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("truncated")
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

func (d *decoder) u32() uint32 {
	v := d.uvarint()
	if v > 1<<32-1 {
		d.fail("number too big")
	}
	return uint32(v)
}

// count reads a count of items that take at least min bytes each.
func (d *decoder) count(min int) int {
	v := d.uvarint()
	if d.err == nil && v > uint64((len(d.b)-d.off)/min) {
		d.fail("count %d exceeds the data left", v)
		return 0
	}
	return int(v)
}

func (d *decoder) str(max int) string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(max) || n > uint64(len(d.b)-d.off) {
		d.fail("string of %d bytes", n)
		return ""
	}
	s := string(d.b[d.off : d.off+int(n)])
	d.off += int(n)
	return s
}

func (d *decoder) ident(typ uint8) Ident {
	return Ident{Type: typ, Ino: d.uvarint(), Size: d.varint(), Mtime: d.varint(), Ctime: d.varint()}
}

// Decode reads a manifest written by Encode. The manifest lives in the
// clone, where a package script run by runcmd could have written
// anything: every path is checked to be clean and relative, every count
// against the bytes left, and the checksum first.
func Decode(data []byte) (*Manifest, error) {
	if len(data) < len(magic)+sha256.Size || !bytes.Equal(data[:len(magic)], magic) {
		return nil, fmt.Errorf("%w: not a manifest of this drd (bad magic or truncated)", ErrBadManifest)
	}
	body := data[:len(data)-sha256.Size]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], data[len(body):]) {
		return nil, fmt.Errorf("%w: checksum mismatch (truncated or changed)", ErrBadManifest)
	}
	d := &decoder{b: body, off: len(magic)}
	m := &Manifest{Packages: map[string]string{}, Etc: map[string][]byte{}}
	nfs := d.count(2)
	if nfs > maxFS {
		d.fail("%d file systems", nfs)
	}
	seen := map[string]bool{}
	for i := 0; i < nfs && d.err == nil; i++ {
		mp := d.str(maxPath)
		if d.err == nil && (!path.IsAbs(mp) || path.Clean(mp) != mp || seen[mp]) {
			d.fail("bad or repeated mount point %q", mp)
		}
		seen[mp] = true
		f := FS{MountPoint: mp}
		n := d.count(5)
		f.Entries = make([]Entry, 0, n)
		prev := ""
		for j := 0; j < n && d.err == nil; j++ {
			p := d.uvarint()
			if p > uint64(len(prev)) {
				d.fail("prefix %d longer than the last path", p)
				break
			}
			rel := prev[:p] + d.str(maxPath)
			if d.err == nil && j > 0 && rel <= prev {
				d.fail("paths out of order: %q after %q", rel, prev)
			}
			if d.err == nil && !validRel(rel) {
				d.fail("bad path %q", rel)
			}
			prev = rel
			e := Entry{Rel: rel}
			st, dt, fl := d.byte(), d.byte(), d.byte()
			if st > typeMax || dt > typeMax || fl&^flagsKnown != 0 {
				d.fail("bad type or flags of %q", rel)
			}
			e.Flags = fl
			if st != TypeNone {
				e.Src = d.ident(st)
			}
			if dt != TypeNone {
				e.Dst.Ident = d.ident(dt)
				e.Dst.Mode = d.u32()
				e.Dst.Uid = d.u32()
				e.Dst.Gid = d.u32()
				if d.err == nil && d.off+8 > len(d.b) {
					d.fail("truncated")
				}
				if d.err == nil {
					e.Dst.Xattr = binary.LittleEndian.Uint64(d.b[d.off:])
					d.off += 8
				}
				e.Dst.Link = d.uvarint()
				if e.Dst.Mode > 07777 {
					d.fail("bad mode of %q", rel)
				}
			}
			f.Entries = append(f.Entries, e)
		}
		m.FS = append(m.FS, f)
	}
	np := d.count(2)
	for i := 0; i < np && d.err == nil; i++ {
		k := d.str(maxPath)
		m.Packages[k] = d.str(maxPath)
	}
	ne := d.count(2)
	prevEtc := ""
	for i := 0; i < ne && d.err == nil; i++ {
		k := d.str(maxPath)
		if d.err == nil && (!validRel(k) || k == "" || (i > 0 && k <= prevEtc)) {
			d.fail("bad /etc path %q", k)
		}
		prevEtc = k
		m.Etc[k] = []byte(d.str(maxEtcFile))
	}
	if d.err == nil && d.off != len(body) {
		d.fail("%d bytes after the end", len(body)-d.off)
	}
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}

// validRel tells whether rel is a clean relative path ("" for the root)
// with no "..", NUL or empty component.
func validRel(rel string) bool {
	if rel == "" {
		return true
	}
	if len(rel) > maxPath || strings.IndexByte(rel, 0) >= 0 || rel[0] == '/' {
		return false
	}
	for _, c := range strings.Split(rel, "/") {
		if c == "" || c == "." || c == ".." {
			return false
		}
	}
	return true
}

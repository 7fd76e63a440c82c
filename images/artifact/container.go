package artifact

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"aead.dev/minisign"
)

// Names of the artifact's entries.
const (
	prefix        = "drd-artifact/"
	headerName    = prefix + "header.json"
	manifestName  = prefix + "manifest.json"
	sigSuffix     = ".minisig"
	memberPrefix  = prefix + "fs/"
	chunkDigits   = 8
	maxChunkCount = 99999999 // chunkDigits digits
)

// ErrTrust is the error of an artifact that the trusted keys do not
// vouch for: unsigned, or signed by another key.
var ErrTrust = errors.New("artifact not signed by a trusted key")

// ErrCorrupt is the error of an artifact whose digests do not match: it was
// changed or cut short after it was written.
var ErrCorrupt = errors.New("artifact corrupt")

// Writer writes an artifact: the header at NewWriter, the members one
// after the other through Member, and the manifest at Close.
type Writer struct {
	tw      *tar.Writer
	key     *minisign.PrivateKey
	m       Manifest
	header  []byte
	next    int
	cur     *memberWriter
	created time.Time
}

// NewWriter starts an artifact on w for the image m describes; m.Members
// names the members that will follow, in order, without digests. With a
// key, the header and the manifest are signed.
func NewWriter(w io.Writer, m Manifest, key *minisign.PrivateKey) (*Writer, error) {
	m.Format = FormatVersion
	for i := range m.Members {
		m.Members[i].Size, m.Members[i].SHA256 = 0, ""
	}
	m.HeaderSHA256 = ""
	if err := m.Validate(false); err != nil {
		return nil, err
	}
	header, err := m.Encode()
	if err != nil {
		return nil, err
	}
	aw := &Writer{tw: tar.NewWriter(w), key: key, m: m, header: header, created: m.Created}
	if err := aw.signed(headerName, header); err != nil {
		return nil, err
	}
	return aw, nil
}

func (w *Writer) entry(name string, data []byte) error {
	hdr := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data)), ModTime: w.created, Format: tar.FormatUSTAR}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing the artifact: %w", err)
	}
	if _, err := w.tw.Write(data); err != nil {
		return fmt.Errorf("writing the artifact: %w", err)
	}
	return nil
}

func (w *Writer) signed(name string, data []byte) error {
	if err := w.entry(name, data); err != nil {
		return err
	}
	if w.key == nil {
		return nil
	}
	return w.entry(name+sigSuffix, minisign.Sign(*w.key, data))
}

// Member returns the writer of the next member, which must be name; close
// it before the next.
func (w *Writer) Member(name string) (io.WriteCloser, error) {
	if w.cur != nil && !w.cur.closed {
		return nil, fmt.Errorf("member %s: the previous member %s is not closed", name, w.cur.name)
	}
	if w.next >= len(w.m.Members) || w.m.Members[w.next].Name != name {
		return nil, fmt.Errorf("member %s is not the next one the header lists", name)
	}
	w.cur = &memberWriter{w: w, name: name, idx: w.next, sum: sha256.New()}
	w.next++
	return w.cur, nil
}

// Close writes the manifest (and its signature) and ends the artifact.
func (w *Writer) Close() error {
	if w.next != len(w.m.Members) || (w.cur != nil && !w.cur.closed) {
		return fmt.Errorf("closing the artifact: not every member was written")
	}
	sum := sha256.Sum256(w.header)
	w.m.HeaderSHA256 = hex.EncodeToString(sum[:])
	data, err := w.m.Encode()
	if err != nil {
		return err
	}
	if err := w.signed(manifestName, data); err != nil {
		return err
	}
	return w.tw.Close()
}

// Manifest is the manifest as written at Close.
func (w *Writer) Manifest() Manifest { return w.m }

type memberWriter struct {
	w      *Writer
	name   string
	idx    int
	buf    []byte
	chunks int
	size   int64
	sum    hash.Hash
	closed bool
}

func (mw *memberWriter) Write(p []byte) (int, error) {
	if mw.closed {
		return 0, fmt.Errorf("member %s: write after close", mw.name)
	}
	n := len(p)
	for len(p) > 0 {
		if mw.buf == nil {
			mw.buf = make([]byte, 0, ChunkSize)
		}
		k := min(len(p), ChunkSize-len(mw.buf))
		mw.buf = append(mw.buf, p[:k]...)
		p = p[k:]
		if len(mw.buf) == ChunkSize {
			if err := mw.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

func (mw *memberWriter) flush() error {
	if len(mw.buf) == 0 {
		return nil
	}
	if mw.chunks >= maxChunkCount {
		return fmt.Errorf("member %s: too large", mw.name)
	}
	name := fmt.Sprintf("%s%s/%0*d", memberPrefix, mw.name, chunkDigits, mw.chunks)
	if err := mw.w.entry(name, mw.buf); err != nil {
		return err
	}
	mw.sum.Write(mw.buf)
	mw.size += int64(len(mw.buf))
	mw.chunks++
	mw.buf = mw.buf[:0]
	return nil
}

func (mw *memberWriter) Close() error {
	if mw.closed {
		return nil
	}
	if err := mw.flush(); err != nil {
		return err
	}
	mw.closed = true
	m := &mw.w.m.Members[mw.idx]
	m.Size, m.SHA256 = mw.size, hex.EncodeToString(mw.sum.Sum(nil))
	return nil
}

// Reader reads an artifact: the header (its signature checked) at
// NewReader, the members one after the other through Next, and the
// manifest, which checks every digest, at Finish.
type Reader struct {
	cr      *countReader
	lastEnd int64 // where the data of the last small entry ended
	tr      *tar.Reader
	trust   []minisign.PublicKey
	header  []byte
	Header  *Manifest
	Signer  string // key ID that signed the header, when a trusted key did
	// ManifestSHA256 is the digest of the manifest (after Finish): the
	// artifact's identity, binding its header and every member.
	ManifestSHA256 string
	peek           *tar.Header
	peekErr        error
	next           int
	cur            *memberReader
	sizes          []int64
	sums           []string
}

// KeyID is how minisign names a key: its 64-bit ID in hex.
func KeyID(id uint64) string { return strings.ToUpper(strconv.FormatUint(id, 16)) }

// NewReader reads the header of the artifact on r and checks its signature
// against trust: with any trusted key, an unsigned header or one no
// trusted key signed is refused (ErrTrust).
func NewReader(r io.Reader, trust []minisign.PublicKey) (*Reader, error) {
	cr := &countReader{r: r}
	ar := &Reader{tr: tar.NewReader(cr), trust: trust, cr: cr}
	data, err := ar.small(headerName, MaxManifestSize)
	if err != nil {
		return nil, err
	}
	ar.header = data
	if ar.Signer, err = ar.checkSig(headerName, data); err != nil {
		return nil, err
	}
	if ar.Header, err = DecodeManifest(data, false); err != nil {
		return nil, fmt.Errorf("artifact header: %w", err)
	}
	ar.sizes = make([]int64, len(ar.Header.Members))
	ar.sums = make([]string, len(ar.Header.Members))
	return ar, nil
}

// peekNext returns the next entry without taking it.
func (ar *Reader) peekNext() (*tar.Header, error) {
	if ar.peek == nil && ar.peekErr == nil {
		ar.peek, ar.peekErr = ar.tr.Next()
		if ar.peekErr == nil && (ar.peek.Typeflag != tar.TypeReg || ar.peek.Size < 0) {
			ar.peekErr = fmt.Errorf("reading the artifact: entry %q is not a plain file: %w", ar.peek.Name, ErrCorrupt)
		}
		if ar.peekErr == io.EOF {
			ar.peekErr = io.ErrUnexpectedEOF
		}
	}
	return ar.peek, ar.peekErr
}

func (ar *Reader) take() { ar.peek = nil }

// small reads the next entry, which must be name and at most max bytes.
func (ar *Reader) small(name string, max int64) ([]byte, error) {
	hdr, err := ar.peekNext()
	if err != nil {
		return nil, fmt.Errorf("reading the artifact (before %s): %w (%w)", name, err, ErrCorrupt)
	}
	if hdr.Name != name {
		return nil, fmt.Errorf("reading the artifact: found %q where %s belongs: %w", hdr.Name, name, ErrCorrupt)
	}
	if hdr.Size > max {
		return nil, fmt.Errorf("reading the artifact: %s has %d bytes, more than %d: %w", name, hdr.Size, max, ErrCorrupt)
	}
	ar.take()
	data, err := io.ReadAll(ar.tr)
	if err != nil || int64(len(data)) != hdr.Size {
		return nil, fmt.Errorf("reading the artifact: %s cut short: %w", name, ErrCorrupt)
	}
	ar.lastEnd = ar.cr.n
	return data, nil
}

// checkSig reads the signature of name, if there is one, and checks it.
func (ar *Reader) checkSig(name string, data []byte) (string, error) {
	var sig []byte
	if hdr, err := ar.peekNext(); err == nil && hdr.Name == name+sigSuffix {
		if sig, err = ar.small(name+sigSuffix, MaxSignatureSize); err != nil {
			return "", err
		}
	}
	if len(ar.trust) == 0 {
		return "", nil
	}
	if sig == nil {
		return "", fmt.Errorf("%s is not signed, and trusted keys are configured: %w", name, ErrTrust)
	}
	for _, k := range ar.trust {
		if minisign.Verify(k, data, sig) {
			return KeyID(k.ID()), nil
		}
	}
	var s minisign.Signature
	id := "an unreadable key"
	if s.UnmarshalText(sig) == nil {
		id = "key " + KeyID(s.KeyID)
	}
	return "", fmt.Errorf("%s is signed by %s, and no trusted key verifies it: %w", name, id, ErrTrust)
}

// Next returns the next member's name and its bytes (the compressed tar);
// io.EOF after the last. The bytes are hashed as they are read; whatever
// the caller leaves unread is read by the next Next or Finish.
func (ar *Reader) Next() (string, io.Reader, error) {
	if err := ar.drain(); err != nil {
		return "", nil, err
	}
	if ar.next >= len(ar.Header.Members) {
		return "", nil, io.EOF
	}
	name := ar.Header.Members[ar.next].Name
	ar.cur = &memberReader{ar: ar, idx: ar.next, name: name, prefix: memberPrefix + name + "/", sum: sha256.New()}
	ar.next++
	return name, ar.cur, nil
}

func (ar *Reader) drain() error {
	if ar.cur == nil {
		return nil
	}
	if _, err := io.Copy(io.Discard, ar.cur); err != nil {
		return err
	}
	ar.cur = nil
	return nil
}

// Finish reads the rest of the artifact and its manifest, checks the
// manifest's signature, that it names this header, and every member's
// digest and size; it returns the manifest. A reader that already wrote
// what the members held must treat it as broken when Finish fails.
func (ar *Reader) Finish() (*Manifest, error) {
	for {
		_, _, err := ar.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	data, err := ar.small(manifestName, MaxManifestSize)
	if err != nil {
		return nil, err
	}
	signer, err := ar.checkSig(manifestName, data)
	if err != nil {
		return nil, err
	}
	end := ar.lastEnd
	if _, err := ar.tr.Next(); err != io.EOF {
		return nil, fmt.Errorf("reading the artifact: entries after the manifest: %w", ErrCorrupt)
	}
	// archive/tar takes a stream cut after the last entry for a whole one:
	// the end-of-archive blocks must be there.
	if ar.cr.n%512 != 0 || ar.cr.n < end+1024 {
		return nil, fmt.Errorf("reading the artifact: it ends without its end-of-archive blocks (cut short): %w", ErrCorrupt)
	}
	m, err := DecodeManifest(data, true)
	if err != nil {
		return nil, fmt.Errorf("artifact manifest: %w (%w)", err, ErrCorrupt)
	}
	sum := sha256.Sum256(ar.header)
	if m.HeaderSHA256 != hex.EncodeToString(sum[:]) {
		return nil, fmt.Errorf("the manifest does not name this artifact's header: %w", ErrCorrupt)
	}
	bare := *m
	bare.HeaderSHA256 = ""
	bare.Members = make([]Member, len(m.Members))
	for i, mem := range m.Members {
		bare.Members[i] = Member{Name: mem.Name}
	}
	if !reflect.DeepEqual(&bare, ar.Header) {
		return nil, fmt.Errorf("the manifest and the header describe different images: %w", ErrCorrupt)
	}
	for i, mem := range m.Members {
		if mem.SHA256 != ar.sums[i] || mem.Size != ar.sizes[i] {
			return nil, fmt.Errorf("member %s: sha256 %s (%d bytes) read, the manifest says %s (%d bytes): %w",
				mem.Name, ar.sums[i], ar.sizes[i], mem.SHA256, mem.Size, ErrCorrupt)
		}
	}
	msum := sha256.Sum256(data)
	ar.ManifestSHA256 = hex.EncodeToString(msum[:])
	if ar.Signer != "" && signer != ar.Signer {
		ar.Signer += "," + signer
	}
	return m, nil
}

type memberReader struct {
	ar     *Reader
	idx    int
	name   string
	prefix string
	chunk  int // chunks begun
	left   int64
	size   int64
	sum    hash.Hash
	done   bool
}

func (mr *memberReader) Read(p []byte) (int, error) {
	for !mr.done && mr.left == 0 {
		hdr, err := mr.ar.peekNext()
		if err != nil {
			return 0, fmt.Errorf("reading member %s: %w (%w)", mr.name, err, ErrCorrupt)
		}
		seq, ok := strings.CutPrefix(hdr.Name, mr.prefix)
		if !ok {
			mr.finish()
			break
		}
		if seq != fmt.Sprintf("%0*d", chunkDigits, mr.chunk) || hdr.Size > MaxChunkSize || mr.size+hdr.Size > MaxMemberSize {
			return 0, fmt.Errorf("reading member %s: chunk %q out of order or too large: %w", mr.name, hdr.Name, ErrCorrupt)
		}
		mr.ar.take()
		mr.chunk++
		mr.left = hdr.Size
	}
	if mr.done {
		return 0, io.EOF
	}
	if int64(len(p)) > mr.left {
		p = p[:mr.left]
	}
	n, err := mr.ar.tr.Read(p)
	mr.sum.Write(p[:n])
	mr.left -= int64(n)
	mr.size += int64(n)
	if err == io.EOF {
		if mr.left > 0 {
			return n, fmt.Errorf("reading member %s: cut short: %w", mr.name, ErrCorrupt)
		}
		err = nil
	}
	return n, err
}

func (mr *memberReader) finish() {
	mr.done = true
	mr.ar.sizes[mr.idx] = mr.size
	mr.ar.sums[mr.idx] = hex.EncodeToString(mr.sum.Sum(nil))
}

// Verify reads a whole artifact, checking signatures and digests, and
// returns its manifest: what an importer does with a file before it
// touches a target.
func Verify(r io.Reader, trust []minisign.PublicKey) (*Manifest, string, error) {
	ar, err := NewReader(r, trust)
	if err != nil {
		return nil, "", err
	}
	m, err := ar.Finish()
	if err != nil {
		return nil, "", err
	}
	return m, ar.Signer, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

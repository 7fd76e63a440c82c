// Package artifact is the format of drd's export/import artifacts: one
// file (or stream) that ships a system image to another host.
//
// An artifact is an uncompressed tar (so standard tools can take it
// apart) whose entries come in a fixed order:
//
//	drd-artifact/header.json           the manifest without member digests
//	drd-artifact/header.json.minisig   its minisign signature (optional)
//	drd-artifact/fs/<member>/<NNNNNNNN> chunks of each member, in order
//	drd-artifact/manifest.json         the manifest: header digest, member digests
//	drd-artifact/manifest.json.minisig its signature (optional)
//
// A member is a zstd-compressed PAX tar of one critical file system
// (Pack, Unpack), cut into chunks of at most ChunkSize bytes because a
// tar entry must know its size before its data and a member is written
// as a stream. The header comes first so that an importer reading a
// stream knows (and has checked the signature of) the layout before it
// touches a target; the manifest comes last because the member digests
// are known only once the members are written. A reader of a file checks
// everything first (Verify) and then reads again; a reader of a stream
// learns a member's digest only after it has unpacked it, and the caller
// must then mark what it wrote as broken when Finish fails.
//
// Everything here parses hostile input: every size is bounded, names are
// checked, and Unpack writes only beneath its target directory, never
// through a link the archive planted.
package artifact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"
)

// FormatVersion is the version of the format this package writes and the
// only one it reads.
const FormatVersion = 1

// Bounds of what a reader accepts.
const (
	MaxManifestSize  = 1 << 20 // header.json, manifest.json
	MaxSignatureSize = 4 << 10 // *.minisig
	ChunkSize        = 8 << 20 // a member's chunk, as written
	MaxChunkSize     = 16 << 20
	MaxMembers       = 64
	MaxMemberSize    = 1 << 44 // compressed bytes of one member
	maxTextField     = 4096
)

// Kinds of artifact.
const (
	KindFull  = "full"  // every file of the image
	KindDelta = "delta" // what differs from Origin: import it over a clone of an image of that base
)

// Manifest describes an artifact: what image it holds, how that image was
// laid out, and (in the manifest, not the header) the digest of every
// member.
type Manifest struct {
	Format     int       `json:"format"`
	Kind       string    `json:"kind"`
	Created    time.Time `json:"created"`
	SourceHost string    `json:"source_host"`
	// Image is the exported image's record (its image.json: identity and
	// history), kept as the exporting drd wrote it.
	Image json.RawMessage `json:"image,omitempty"`
	// Origin is the base identity of the image the exported one was
	// cloned from; Exported is that of the exported image itself.
	Origin   Identity `json:"origin"`
	Exported Identity `json:"exported"`
	// FileSystems is the layout: one per critical file system.
	FileSystems []FileSystem `json:"file_systems"`
	// VG is the volume group's name when the image's root is on LVM.
	VG string `json:"vg,omitempty"`
	// Members lists the members in the order they follow the header; the
	// digests are empty in the header.
	Members []Member `json:"members"`
	// HeaderSHA256 is the digest of header.json (manifest only).
	HeaderSHA256 string `json:"header_sha256,omitempty"`
}

// Identity is the base identity of an image: its os-release and a digest
// of its packages (the sorted "name:arch=version" lines).
type Identity struct {
	OSRelease map[string]string `json:"os_release,omitempty"`
	Packages  string            `json:"packages_sha256,omitempty"`
	Count     int               `json:"packages,omitempty"`
	// List is the packages themselves ("name:arch" to version): a delta
	// carries its origin's, so that an importer can say which differ.
	List map[string]string `json:"package_list,omitempty"`
}

// FileSystem is one critical file system of the exported image.
type FileSystem struct {
	Mount    string   `json:"mount"` // "/", "/boot", "/boot/efi"
	Type     string   `json:"type"`  // ext4, xfs, vfat, ...
	Features []string `json:"features,omitempty"`
	Label    string   `json:"label,omitempty"`
	// Size and Used are the source file system's bytes: the importer
	// sizes the target's partitions in proportion.
	Size int64  `json:"size"`
	Used int64  `json:"used"`
	LV   string `json:"lv,omitempty"` // its logical volume, on LVM
	// Member names the member holding its files.
	Member string `json:"member"`
}

// Member is one member of the artifact: the compressed tar of a file
// system.
type Member struct {
	Name   string `json:"name"`
	Size   int64  `json:"size,omitempty"`   // compressed bytes (manifest only)
	SHA256 string `json:"sha256,omitempty"` // of those bytes (manifest only)
}

var (
	memberName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`) })
	hexDigest  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{64}$`) })
)

// DecodeManifest parses header.json or manifest.json and checks it
// (Validate). final says which: the manifest must carry every digest, the
// header none.
func DecodeManifest(data []byte, final bool) (*Manifest, error) {
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("manifest of %d bytes: more than %d", len(data), MaxManifestSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("reading the manifest: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("reading the manifest: data after the JSON object")
	}
	if err := m.Validate(final); err != nil {
		return nil, err
	}
	return &m, nil
}

// Encode writes the manifest as indented JSON.
func (m *Manifest) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Validate checks a manifest: format version, kind, names, mount points,
// sizes and, when final, the digests.
func (m *Manifest) Validate(final bool) error {
	if m.Format != FormatVersion {
		return fmt.Errorf("artifact format %d: this drd reads format %d only; use a drd of the same version as the exporting one", m.Format, FormatVersion)
	}
	if m.Kind != KindFull && m.Kind != KindDelta {
		return fmt.Errorf("artifact kind %q: this drd knows %q and %q", m.Kind, KindFull, KindDelta)
	}
	if m.Kind == KindDelta && m.Origin.Packages == "" {
		return fmt.Errorf("manifest: a delta that names no base (origin packages)")
	}
	if len(m.SourceHost) > maxTextField || len(m.VG) > 128 {
		return fmt.Errorf("manifest: a field is too long")
	}
	if len(m.Members) == 0 || len(m.Members) > MaxMembers {
		return fmt.Errorf("manifest: %d members (1 to %d allowed)", len(m.Members), MaxMembers)
	}
	names := map[string]bool{}
	for _, mem := range m.Members {
		if !memberName().MatchString(mem.Name) {
			return fmt.Errorf("manifest: member name %q is not of the form [a-z0-9_.-]", mem.Name)
		}
		if names[mem.Name] {
			return fmt.Errorf("manifest: member %q listed twice", mem.Name)
		}
		names[mem.Name] = true
		if final {
			if !hexDigest().MatchString(mem.SHA256) || mem.Size < 0 || mem.Size > MaxMemberSize {
				return fmt.Errorf("manifest: member %q has no valid digest or size", mem.Name)
			}
		} else if mem.SHA256 != "" || mem.Size != 0 {
			return fmt.Errorf("header: member %q carries a digest (only the manifest does)", mem.Name)
		}
	}
	if final != (m.HeaderSHA256 != "") || (final && !hexDigest().MatchString(m.HeaderSHA256)) {
		return fmt.Errorf("manifest: header digest missing or misplaced")
	}
	if len(m.FileSystems) != len(m.Members) {
		return fmt.Errorf("manifest: %d file systems for %d members", len(m.FileSystems), len(m.Members))
	}
	mounts := map[string]bool{}
	root := false
	for _, fs := range m.FileSystems {
		if !validMount(fs.Mount) || mounts[fs.Mount] {
			return fmt.Errorf("manifest: mount point %q is not a clean absolute path, or is listed twice", fs.Mount)
		}
		mounts[fs.Mount] = true
		root = root || fs.Mount == "/"
		if !names[fs.Member] {
			return fmt.Errorf("manifest: file system %s names member %q, which is not listed", fs.Mount, fs.Member)
		}
		if fs.Size < 0 || fs.Used < 0 || fs.Used > fs.Size || fs.Size > 1<<60 {
			return fmt.Errorf("manifest: file system %s has size %d and used %d", fs.Mount, fs.Size, fs.Used)
		}
		if !plainWord(fs.Type) || len(fs.Label) > 64 || len(fs.LV) > 128 || len(fs.Features) > 64 {
			return fmt.Errorf("manifest: file system %s: type, label, logical volume or features out of bounds", fs.Mount)
		}
		for _, f := range fs.Features {
			if !plainWord(f) {
				return fmt.Errorf("manifest: file system %s: feature %q", fs.Mount, f)
			}
		}
	}
	if !root {
		return fmt.Errorf("manifest: no file system is mounted at /")
	}
	for _, id := range []Identity{m.Origin, m.Exported} {
		if id.Packages != "" && !hexDigest().MatchString(id.Packages) {
			return fmt.Errorf("manifest: package digest %q is not a sha256", id.Packages)
		}
		if len(id.OSRelease) > 64 || len(id.List) > 1<<17 {
			return fmt.Errorf("manifest: os-release has %d fields, the package list %d", len(id.OSRelease), len(id.List))
		}
	}
	return nil
}

func validMount(p string) bool {
	return len(p) <= 1024 && strings.HasPrefix(p, "/") && path.Clean(p) == p && !strings.ContainsAny(p, "\x00\n")
}

func plainWord(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_.-^=", c)) {
			return false
		}
	}
	return true
}

package bootenv

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/drd-linux/drd/internal/inroot"
)

// Paths of drd's own files inside an image.
const (
	DataDir    = "/var/opt/drd"
	RecordPath = DataDir + "/image.json"
	MountsDir  = DataDir + "/mnts"
)

// ReadRecord reads the image.json of the image whose root is at root.
// An image that has none yet (never cloned) gets fs.ErrNotExist.
// The record is in the root file system, also when /var is another.
func ReadRecord(root string) (*Record, error) {
	p := filepath.Join(root, RecordPath)
	var data []byte
	err := onRootFS(root, func(dir string) (err error) {
		data, err = inroot.Image(dir).ReadFile(RecordPath)
		return err
	})
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v): move it aside and run drd clone again", p, err)
	}
	return &r, nil
}

// WriteRecord writes image.json atomically: a power loss leaves the old
// or the new record, never half of one.
func WriteRecord(root string, r *Record) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return onRootFS(root, func(dir string) error {
		// Inside the image: a /var/opt/drd that its package scripts
		// replaced by a link never leads drd's write elsewhere.
		tr := inroot.Image(dir)
		if err := tr.MkdirAll(DataDir, 0o755); err != nil {
			return err
		}
		return tr.WriteFile(RecordPath, append(data, '\n'), 0o644)
	})
}

// WriteFileAtomic writes data to a temporary file beside p, syncs it and
// renames it over p, then syncs the directory.
func WriteFileAtomic(p string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(p)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// BootedRecord returns the record of the booted image at root, making a
// fresh one (sysimage_000, state booted) when it has none. The fresh
// one is the same on every call (drd status shows one id until drd
// clone writes it): its id is derived from the image's machine-id and its
// time is the machine-id's (the installation's); only an image without a
// machine-id gets a random id.
func BootedRecord(root string) (*Record, error) {
	r, err := ReadRecord(root)
	if errors.Is(err, fs.ErrNotExist) {
		id, created := unrecordedIdentity(inroot.Image(root))
		return &Record{Name: ImageName(0), ID: id, System: id, Created: created, State: Booted}, nil
	}
	if err == nil && r.System == "" {
		r.System = r.ID
	}
	return r, err
}

// unrecordedIdentity is the id and creation time of an image that has no
// record yet: stable, from its /etc/machine-id, when it has one.
func unrecordedIdentity(t inroot.Tree) (string, time.Time) {
	data, err := t.ReadFile("/etc/machine-id")
	mid := strings.TrimSpace(string(data))
	if err != nil || mid == "" {
		return NewID(), time.Now().UTC()
	}
	var created time.Time
	if fi, err := t.Stat("/etc/machine-id"); err == nil {
		created = fi.ModTime().UTC().Truncate(time.Second)
	}
	return idFrom("drd image of machine " + mid), created
}

// idFrom is a version-5-shaped UUID derived from s: the same s, the same id.
func idFrom(s string) string {
	b := sha256.Sum256([]byte(s))
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ImageName is the name of image n: sysimage_000, sysimage_001, ...
func ImageName(n int) string { return fmt.Sprintf("sysimage_%03d", n) }

// NewID returns a random version-4 UUID.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// AddEvent appends an event to the record's history.
func (r *Record) AddEvent(action, result, detail string) {
	r.History = append(r.History, Event{Time: time.Now().UTC(), Action: action, User: currentUser(), Result: result, Detail: detail})
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return fmt.Sprint(os.Getuid())
}

package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/drd-linux/drd/internal/eventlog"
	"github.com/drd-linux/drd/internal/inroot"
)

// BaselinePath is where an image keeps the findings it accepted (drd
// verify -x baseline=true): later runs report only what is new.
const BaselinePath = "/var/opt/drd/verify/baseline.json"

// Baseline is the findings of one run accepted as the image's normal.
type Baseline struct {
	Date     time.Time `json:"date"`
	User     string    `json:"user"`
	Findings []Finding `json:"findings"`
}

// ParseBaseline reads a baseline file; a finding without an absolute
// path or with an unknown kind is left out.
func ParseBaseline(data []byte) (*Baseline, error) {
	var b Baseline
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, err
	}
	kept := b.Findings[:0]
	for _, f := range b.Findings {
		if strings.HasPrefix(f.Path, "/") && path.Clean(f.Path) == f.Path && f.Kind.known() {
			kept = append(kept, f)
		}
	}
	b.Findings = kept
	return &b, nil
}

func (k Kind) known() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// ReadBaseline reads the baseline of the image at root; nil if it has
// none.
func ReadBaseline(root string) (*Baseline, error) {
	data, err := inroot.Mounts(root).ReadFile(BaselinePath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	b, err := ParseBaseline(data)
	if err != nil {
		return nil, fmt.Errorf("the baseline %s of %s is damaged (%v): make a new one with drd verify -x baseline=true", BaselinePath, root, err)
	}
	return b, nil
}

// WriteBaseline keeps b as the baseline of the image at root.
func WriteBaseline(root string, b *Baseline) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	tr := inroot.Mounts(root)
	if err := tr.MkdirAll(path.Dir(BaselinePath), 0o755); err != nil {
		return err
	}
	return tr.WriteFile(BaselinePath, append(data, '\n'), 0o644)
}

// Split parts findings into those new since the baseline b (nil: all
// are new) and those it holds. A finding is the same if its path and
// kind are.
func Split(findings []Finding, b *Baseline) (fresh, known []Finding) {
	seen := map[[2]string]bool{}
	if b != nil {
		for _, f := range b.Findings {
			seen[[2]string{f.Path, string(f.Kind)}] = true
		}
	}
	for _, f := range findings {
		if seen[[2]string{f.Path, string(f.Kind)}] {
			known = append(known, f)
		} else {
			fresh = append(fresh, f)
		}
	}
	return fresh, known
}

// LogPath is verify's log in the booted image whose root is root: one
// run's findings each, the 25 runs before kept as verify.log.1 (the
// newest) to verify.log.25.
func LogPath(root string) string { return filepath.Join(root, eventlog.Dir, "verify.log") }

// WriteLog rotates verify.log of the booted image at root and writes
// text as the new one.
func WriteLog(root, text string) error {
	p := LogPath(root)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	for _, r := range eventlog.Rotation(p, eventlog.Keep) {
		if err := os.Rename(r.From, r.To); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotating %s: %w", p, err)
		}
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

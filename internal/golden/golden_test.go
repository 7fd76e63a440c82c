package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what Check reports.
type recorder struct {
	testing.TB
	errs  []string
	fatal bool
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, format)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = true
	r.errs = append(r.errs, format)
}

func TestCheck(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.golden")
	os.WriteFile(p, []byte("same\n"), 0o644)
	r := &recorder{TB: t}
	Check(r, p, []byte("same\n"))
	if len(r.errs) != 0 {
		t.Errorf("equal output reported: %q", r.errs)
	}
	Check(r, p, []byte("other\n"))
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "differs") {
		t.Errorf("different output: %q, want one difference", r.errs)
	}
	r = &recorder{TB: t}
	Check(r, filepath.Join(t.TempDir(), "missing"), nil)
	if !r.fatal {
		t.Error("a missing golden file is not fatal")
	}
}

func TestShow(t *testing.T) {
	if got := show([]byte("a\nb")); got != "a\nb" {
		t.Errorf("text shown as %q", got)
	}
	if got := show([]byte{1, 0, 0xab}); got != "01 00 ab" {
		t.Errorf("binary shown as %q", got)
	}
}

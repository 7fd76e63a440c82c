package main

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/drd-linux/drd/verify"
)

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// dpkgImage makes a root with one package p owning /usr/bin/a and
// /usr/bin/b, both as shipped.
func dpkgImage(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range map[string]string{
		"var/lib/dpkg/status":         "Package: p\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n",
		"var/lib/dpkg/info/p.list":    "/usr/bin/a\n/usr/bin/b\n",
		"var/lib/dpkg/info/p.md5sums": md5hex("A") + "  usr/bin/a\n" + md5hex("B") + "  usr/bin/b\n",
		"usr/bin/a":                   "A",
		"usr/bin/b":                   "B",
	} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestVerifyCommand: drd verify's exit code counts what is newly missing
// or modified; --json is the documented document; the baseline is kept
// in the image verified (mounted writable only then), hides its findings
// while a new change shows, and -v shows them marked; each run logs to
// the booted image's verify.log.
func TestVerifyCommand(t *testing.T) {
	root, img := t.TempDir(), dpkgImage(t)
	f := &fake{images: map[string]string{"": root, "sysimage_001": img}}
	os.WriteFile(filepath.Join(img, "usr/bin/a"), []byte("changed"), 0o644)
	os.WriteFile(filepath.Join(img, "usr/bin/stray"), []byte("x"), 0o755)

	code, out, _ := drd(t, f, root, "verify", "--json", "sysimage_001")
	if code != exitWarning {
		t.Errorf("exit %d with a modified file, want %d", code, exitWarning)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range doc {
			if !yield(k) {
				return
			}
		}
	})
	if !slices.Equal(keys, []string{"counts", "findings", "image"}) || doc["image"] != "sysimage_001" {
		t.Errorf("document %v", doc)
	}
	var got verifyJSON
	json.Unmarshal([]byte(out), &got)
	want := []verify.Finding{{Path: "/usr/bin/a", Kind: verify.Modified, Package: "p"}, {Path: "/usr/bin/stray", Kind: verify.Unknown}}
	if !reflect.DeepEqual(got.Findings, want) || got.Counts[verify.Modified] != 1 || got.Counts[verify.Unknown] != 1 || got.Counts[verify.Missing] != 0 {
		t.Errorf("findings %+v counts %v", got.Findings, got.Counts)
	}
	if log, err := os.ReadFile(verify.LogPath(root)); err != nil || !strings.Contains(string(log), "/usr/bin/a") {
		t.Errorf("verify.log of the booted image: %q, %v", log, err)
	}
	if _, err := os.Stat(filepath.Join(img, verify.BaselinePath)); err == nil {
		t.Error("a baseline was written without -x baseline=true")
	}

	if code, _, _ := drd(t, f, root, "verify", "-x", "baseline=true", "sysimage_001"); code != exitOK {
		t.Errorf("baseline: exit %d", code)
	}
	if b, err := verify.ReadBaseline(img); err != nil || b == nil || b.User != "root" || !b.Date.Equal(testNow) || len(b.Findings) != 2 {
		t.Errorf("baseline %+v, %v", b, err)
	}
	if code, out, _ := drd(t, f, root, "verify", "sysimage_001"); code != exitOK || strings.Contains(out, "/usr/bin/a") {
		t.Errorf("after the baseline: exit %d\n%s", code, out)
	}
	if _, out, _ := drd(t, f, root, "verify", "-v", "sysimage_001"); !strings.Contains(out, "(baseline)") {
		t.Errorf("-v does not show the baseline's findings:\n%s", out)
	}
	os.Remove(filepath.Join(img, "usr/bin/b"))
	code, out, _ = drd(t, f, root, "verify", "sysimage_001")
	if code != exitWarning || !strings.Contains(out, "/usr/bin/b") || strings.Contains(out, "/usr/bin/a ") {
		t.Errorf("a new change: exit %d\n%s", code, out)
	}
	wantCalls := []string{"with sysimage_001 ro", "with sysimage_001 rw", "with sysimage_001 ro", "with sysimage_001 ro", "with sysimage_001 ro"}
	if !slices.Equal(f.mounted, wantCalls) {
		t.Errorf("images %q, want %q", f.mounted, wantCalls)
	}
	if ents, _ := os.ReadDir(filepath.Dir(verify.LogPath(root))); len(ents) < 5 {
		t.Errorf("%d verify logs after 5 runs", len(ents))
	}
}

// TestDiffCommand: drd diff reads both images read-only and prints the
// documented JSON (complete even when empty), exit 0.
func TestDiffCommand(t *testing.T) {
	root, a, b := t.TempDir(), dpkgImage(t), dpkgImage(t)
	os.WriteFile(filepath.Join(b, "usr/bin/new"), []byte("n"), 0o755)
	f := &fake{images: map[string]string{"": a, "sysimage_001": b}}
	code, out, _ := drd(t, f, root, "diff", "--json", "", "sysimage_001")
	if code != exitOK {
		t.Errorf("exit %d", code)
	}
	var d verify.Difference
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if d.A != "sysimage_000" || d.B != "sysimage_001" || !slices.Equal(d.Files.Added, []string{"/usr/bin/new"}) {
		t.Errorf("diff %+v", d)
	}
	for _, k := range []string{`"added": []`, `"upgraded": []`, `"removed": []`, `"changed": []`} {
		if !strings.Contains(out, k) {
			t.Errorf("JSON lacks %s:\n%s", k, out)
		}
	}
	if !slices.Equal(f.mounted, []string{"with  ro", "with sysimage_001 ro"}) {
		t.Errorf("images %q", f.mounted)
	}
	if code, _, stderr := drd(t, f, root, "diff", "sysimage_001"); code != exitError || !strings.Contains(stderr, "name the two images") {
		t.Errorf("one image: exit %d", code)
	}
	if _, out, _ := drd(t, f, root, "diff", "-v", "", "sysimage_001"); !strings.Contains(out, "added    /usr/bin/new") || !strings.Contains(out, "/usr") {
		t.Errorf("text:\n%s", out)
	}
}

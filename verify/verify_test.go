package verify

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func sum(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// fakeImage writes files (path -> content; "->target" makes a link)
// under a new root.
func fakeImage(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := cutPrefix(content, "->"); ok {
			err = os.Symlink(target, full)
		} else {
			err = os.WriteFile(full, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

// TestVerifyKinds: each kind from a small dpkg database, and a packaged
// file replaced by a link that leads out of the image is read inside
// it (missing there), never on the host where it would match.
func TestVerifyKinds(t *testing.T) {
	host := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(host, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := fakeImage(t, map[string]string{
		"var/lib/dpkg/status": "Package: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\nConffiles:\n /etc/a.conf " + sum("conf") + "\n /etc/gone.conf " + sum("x") + "\n\n" +
			"Package: b\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n\n" +
			"Package: c\nStatus: deinstall ok config-files\nArchitecture: all\nVersion: 1\nConffiles:\n /etc/c.conf " + sum("c") + "\n",
		"var/lib/dpkg/info/a.list":    "/.\n/usr\n/usr/bin\n/usr/bin/a\n/usr/bin/out\n/usr/bin/same\n/etc/a.conf\n/etc/gone.conf\n",
		"var/lib/dpkg/info/a.md5sums": sum("A") + "  usr/bin/a\n" + sum("secret") + "  usr/bin/out\n" + sum("same") + "  usr/bin/same\n",
		"var/lib/dpkg/info/b.list":    "/usr/bin/b\n",
		"var/lib/dpkg/info/c.list":    "/etc/c.conf\n",
		"usr/bin/a":                   "changed",
		"usr/bin/out":                 "->" + host,
		"usr/bin/same":                "same",
		"usr/bin/b":                   "B",
		"etc/a.conf":                  "edited",
		"etc/c.conf":                  "c",
		"etc/machine-id":              "1234",
		"etc/extra":                   "x",
		"usr/lib/drd/drd":             "drd",
	})
	res, err := Verify(context.Background(), Options{Root: root, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := []Finding{
		{"/etc/a.conf", Conffile, "a"},
		{"/etc/extra", Unknown, ""},
		{"/etc/gone.conf", Conffile, "a"},
		{"/usr/bin/a", Modified, "a"},
		{"/usr/bin/out", Missing, "a"},
		{"/var/lib/dpkg/info/b.md5sums", NoChecksums, "b"},
	}
	if !slices.Equal(res.Findings, want) {
		t.Errorf("findings:\n got %+v\nwant %+v", res.Findings, want)
	}
	if res.Packages != 3 || res.Files != 4 {
		t.Errorf("%d packages, %d files hashed", res.Packages, res.Files)
	}
}

func TestVerifyNoDpkg(t *testing.T) {
	if _, err := Verify(context.Background(), Options{Root: t.TempDir()}); err == nil {
		t.Error("an image without dpkg verified")
	}
}

func TestPatterns(t *testing.T) {
	ps := Compile([]string{"/etc/ssh/ssh_host_*", "/boot/grub/**", "/etc/**.dpkg-old", "/usr/lib/python3/dist-packages/**/__pycache__/*.pyc", "/usr/lib/*/gio/modules/giomodule.cache"})
	for p, want := range map[string]bool{
		"/etc/ssh/ssh_host_rsa_key":     true,
		"/etc/ssh/sshd_config":          false,
		"/etc/ssh/ssh_host_x/y":         false,
		"/boot/grub/i386-pc/normal.mod": true,
		"/boot/grubx":                   false,
		"/etc/default/grub.dpkg-old":    true,
		"/etc/x.dpkg-older":             false,
		"/usr/lib/python3/dist-packages/__pycache__/a.cpython-311.pyc": true,
		"/usr/lib/python3/dist-packages/x/y/__pycache__/a.pyc":         true,
		"/usr/lib/python3/dist-packages/x/a.pyc":                       false,
		"/usr/lib/x86_64-linux-gnu/gio/modules/giomodule.cache":        true,
	} {
		if ps.Match(p) != want {
			t.Errorf("Match(%q) = %v", p, !want)
		}
	}
	if (Patterns{}).Match("/x") {
		t.Error("no patterns matched")
	}
}

func TestSplitAndBaseline(t *testing.T) {
	root := t.TempDir()
	if b, err := ReadBaseline(root); b != nil || err != nil {
		t.Fatalf("no baseline: %v %v", b, err)
	}
	fs := []Finding{{"/a", Missing, "p"}, {"/b", Unknown, ""}}
	if err := WriteBaseline(root, &Baseline{User: "ann", Findings: fs[:1]}); err != nil {
		t.Fatal(err)
	}
	b, err := ReadBaseline(root)
	if err != nil || b.User != "ann" {
		t.Fatalf("baseline %+v %v", b, err)
	}
	fresh, known := Split(append(fs, Finding{"/a", Modified, "p"}), b)
	if !slices.Equal(fresh, []Finding{{"/b", Unknown, ""}, {"/a", Modified, "p"}}) || !slices.Equal(known, fs[:1]) {
		t.Errorf("fresh %+v known %+v", fresh, known)
	}
	os.WriteFile(filepath.Join(root, BaselinePath), []byte("{"), 0o644)
	if _, err := ReadBaseline(root); err == nil {
		t.Error("a damaged baseline was read")
	}
}

func FuzzParseBaseline(f *testing.F) {
	f.Add([]byte(`{"date":"2026-12-04T10:00:00Z","user":"root","findings":[{"path":"/a","kind":"missing","package":"p"},{"path":"rel","kind":"missing"},{"path":"/b","kind":"odd"}]}`))
	f.Add([]byte(`{"findings":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBaseline(data)
		if err != nil {
			return
		}
		for _, x := range b.Findings {
			if x.Path == "" || x.Path[0] != '/' || !x.Kind.known() {
				t.Errorf("finding %+v", x)
			}
		}
	})
}

func TestWriteLogRotates(t *testing.T) {
	root := t.TempDir()
	for i := range 30 {
		if err := WriteLog(root, string(rune('a'+i%26))); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(LogPath(root)))
	if len(ents) != 26 {
		t.Errorf("%d logs, want verify.log and 25 rotations", len(ents))
	}
	if b, _ := os.ReadFile(LogPath(root) + ".1"); string(b) != "c" {
		t.Errorf("verify.log.1 = %q", b)
	}
}

// TestDocsListGenerated keeps docs/cli.md's list of generated and drd's
// own files true.
func TestDocsListGenerated(t *testing.T) {
	doc, err := os.ReadFile("../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range GeneratedFiles {
		if !strings.Contains(string(doc), "`"+p+"`") {
			t.Errorf("docs/cli.md does not list the generated file %s", p)
		}
	}
	for _, p := range DrdFiles {
		if !strings.Contains(string(doc), "`"+strings.TrimSuffix(p, "**")+"`") {
			t.Errorf("docs/cli.md does not list drd's file %s", p)
		}
	}
}

// TestVerifyLinkLoops: directories of the image that are links in a
// loop (to themselves, to each other) end the resolution of a package's
// paths; the files behind them are not checked, with the kernel's reason.
func TestVerifyLinkLoops(t *testing.T) {
	root := fakeImage(t, map[string]string{
		"var/lib/dpkg/status":         "Package: a\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n",
		"var/lib/dpkg/info/a.list":    "/usr/self/x\n/usr/ping/y\n",
		"var/lib/dpkg/info/a.md5sums": sum("x") + "  usr/self/x\n" + sum("y") + "  usr/ping/y\n",
		"usr/self":                    "->/usr/self",
		"usr/ping":                    "->pong/z",
		"usr/pong":                    "->../usr/ping",
	})
	res, err := Verify(context.Background(), Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || len(res.Skipped) != 2 {
		t.Fatalf("findings %+v, skipped %+v; want the two files skipped", res.Findings, res.Skipped)
	}
	for _, s := range res.Skipped {
		if !strings.Contains(s.Reason, "too many links") {
			t.Errorf("skipped %+v", s)
		}
	}
}

package verify

import (
	"context"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/drd-linux/drd/internal/execrun"
)

func TestParseRPMVerify(t *testing.T) {
	data, err := os.ReadFile("testdata/rpm-Va.txt")
	if err != nil {
		t.Fatal(err)
	}
	found, skipped := ParseRPMVerify(string(data))
	want := []Finding{
		{Path: "/etc/ssh/sshd_config", Kind: Conffile},
		{Path: "/usr/bin/gone", Kind: Missing},
		{Path: "/etc/removed.conf", Kind: Conffile},
		{Path: "/usr/bin/patched", Kind: Modified},
		{Path: "/usr/lib/link", Kind: Modified},
		{Path: "/usr/share/doc/x/README", Kind: Modified},
	}
	if !slices.Equal(found, want) {
		t.Errorf("findings\n got %+v\nwant %+v", found, want)
	}
	if len(skipped) != 1 || skipped[0].Path != "/usr/sbin/unreadable" {
		t.Errorf("skipped %+v", skipped)
	}
}

func TestVerifyRPM(t *testing.T) {
	root := t.TempDir()
	if HasRPM(root) {
		t.Error("an empty root has rpm")
	}
	os.MkdirAll(root+"/var/lib/rpm", 0o755)
	if !HasRPM(root) {
		t.Error("no rpm database found")
	}
	if _, err := Verify(context.Background(), Options{Root: root}); err == nil {
		t.Error("an rpm image verified without a runner for rpm")
	}
	run := &execrun.Fake{Out: map[string]string{"rpm -Va --nodeps --noscripts --root " + root: "missing     /usr/bin/gone\n"}}
	res, err := Verify(context.Background(), Options{Root: root, RPM: run})
	if err != nil || !slices.Equal(res.Findings, []Finding{{Path: "/usr/bin/gone", Kind: Missing}}) {
		t.Errorf("VerifyRPM: %+v, %v", res, err)
	}
}

func FuzzParseRPMVerify(f *testing.F) {
	data, _ := os.ReadFile("testdata/rpm-Va.txt")
	f.Add(string(data))
	f.Add("missing   c relative\n..5......    /a/../b\nSM5DLUGTP  x /odd\n")
	f.Fuzz(func(t *testing.T, out string) {
		found, skipped := ParseRPMVerify(out)
		for _, x := range found {
			if !strings.HasPrefix(x.Path, "/") || path.Clean(x.Path) != x.Path || !x.Kind.known() {
				t.Errorf("finding %+v", x)
			}
		}
		for _, s := range skipped {
			if !strings.HasPrefix(s.Path, "/") {
				t.Errorf("skip %+v", s)
			}
		}
	})
}

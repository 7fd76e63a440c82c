package artifact

import (
	"strings"
	"testing"
)

func TestManifestValidate(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*Manifest)
		want   string
	}{
		{"good", func(*Manifest) {}, ""},
		{"format", func(m *Manifest) { m.Format = 2 }, "format 2"},
		{"kind", func(m *Manifest) { m.Kind = "patch" }, "kind"},
		{"delta without base", func(m *Manifest) { m.Kind = KindDelta }, "names no base"},
		{"member name", func(m *Manifest) { m.Members[0].Name = "../root"; m.FileSystems[0].Member = "../root" }, "member name"},
		{"member twice", func(m *Manifest) { m.Members[1].Name = "root" }, "twice"},
		{"digest in header", func(m *Manifest) { m.Members[0].SHA256 = strings.Repeat("a", 64) }, "carries a digest"},
		{"no root", func(m *Manifest) { m.FileSystems[0].Mount = "/usr" }, "no file system is mounted at /"},
		{"mount not clean", func(m *Manifest) { m.FileSystems[1].Mount = "/boot/../etc" }, "not a clean"},
		{"unknown member", func(m *Manifest) { m.FileSystems[1].Member = "usr" }, "not listed"},
		{"used > size", func(m *Manifest) { m.FileSystems[0].Used = 101 }, "size 100 and used 101"},
		{"feature", func(m *Manifest) { m.FileSystems[0].Features = []string{"a b"} }, "feature"},
		{"packages digest", func(m *Manifest) { m.Origin.Packages = "xyz" }, "not a sha256"},
	} {
		m := testManifest()
		m.Format = FormatVersion
		c.change(&m)
		err := m.Validate(false)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := DecodeManifest([]byte(`{"format":1,"kind":"full","surprise":1}`), false); err == nil {
		t.Error("an unknown field was accepted")
	}
}

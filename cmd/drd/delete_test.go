package main

import (
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
)

// TestDeleteCommand: drd delete and drd forget hand the image, preview and
// forget to the engine under --root; IMAGE is required (a usage error that
// does nothing); an engine's refusal is exit 1 naming the image.
func TestDeleteCommand(t *testing.T) {
	tests := []struct {
		args   []string
		fake   fake
		code   int
		want   []bootenv.DeleteOptions
		stderr string
	}{
		{[]string{"delete", "sysimage_002"}, fake{}, 0, []bootenv.DeleteOptions{{Image: "sysimage_002"}}, "END Delete System Image succeeded"},
		{[]string{"delete", "-p", "/srv/clone.img"}, fake{}, 0, []bootenv.DeleteOptions{{Image: "/srv/clone.img", Preview: true}}, "END Delete System Image succeeded"},
		{[]string{"forget", "sysimage_003"}, fake{}, 0, []bootenv.DeleteOptions{{Image: "sysimage_003", Forget: true}}, "END Forget System Image succeeded"},
		{[]string{"delete"}, fake{}, 1, nil, "drd delete: name the image (drd status lists them)"},
		{[]string{"forget"}, fake{}, 1, nil, "drd forget: name the image"},
		{[]string{"delete", "a", "b"}, fake{}, 1, nil, "too many arguments"},
		{[]string{"delete", "sysimage_000"}, fake{fail: errEngine}, 1, []bootenv.DeleteOptions{{Image: "sysimage_000"}}, "ERROR: deleting sysimage_000: disk on fire"},
		{[]string{"forget", "sysimage_001"}, fake{fail: errEngine}, 1, []bootenv.DeleteOptions{{Image: "sysimage_001", Forget: true}}, "ERROR: forgetting sysimage_001: disk on fire"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			root := t.TempDir()
			code, _, stderr := drd(t, &tt.fake, root, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if len(tt.fake.deleted) != len(tt.want) || (len(tt.want) == 1 && tt.fake.deleted[0] != tt.want[0]) {
				t.Errorf("engine got %+v, want %+v", tt.fake.deleted, tt.want)
			}
			if len(tt.want) == 1 && (len(tt.fake.roots) != 1 || tt.fake.roots[0] != root) {
				t.Errorf("engine roots %q, want %s", tt.fake.roots, root)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q", tt.stderr)
			}
		})
	}
}

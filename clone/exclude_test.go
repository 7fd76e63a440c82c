package clone

import (
	"reflect"
	"testing"
)

func TestExcludesFor(t *testing.T) {
	mps := []string{"/", "/boot", "/var"}
	ex := []string{"/var/tmp", "tmp/cache", "/boot/old", "/var", "/srv/x"}
	for _, tt := range []struct {
		mp   string
		want []string
	}{
		{"/", []string{"/tmp/cache", "/srv/x"}},
		{"/var", []string{"/tmp"}},
		{"/boot", []string{"/old"}},
	} {
		if got := excludesFor(tt.mp, ex, mps); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("excludesFor(%s) = %q, want %q", tt.mp, got, tt.want)
		}
	}
}

// TestCopyExcludes: the record lives in the root file system even under
// a /var of its own; the root's copy leaves it out, as the /var copy
// leaves out what lies at its path there.
func TestCopyExcludes(t *testing.T) {
	mps := []string{"/", "/boot", "/var"}
	ex := []string{"/var/opt/drd/mnts", "/var/opt/drd/image.json"}
	for _, tt := range []struct {
		mp   string
		mps  []string
		want []string
	}{
		{"/", mps, []string{"/var/opt/drd/image.json"}},
		{"/var", mps, []string{"/opt/drd/mnts", "/opt/drd/image.json"}},
		{"/boot", mps, nil},
		{"/", []string{"/", "/boot"}, []string{"/var/opt/drd/mnts", "/var/opt/drd/image.json"}},
	} {
		if got := copyExcludes(tt.mp, ex, tt.mps); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("copyExcludes(%s, %q) = %q, want %q", tt.mp, tt.mps, got, tt.want)
		}
	}
}

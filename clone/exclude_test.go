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

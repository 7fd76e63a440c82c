package e2e

import (
	"context"
	"testing"
	"time"
)

// TestImages builds (or finds in the cache) the images of every standard
// layout on every release; make e2e runs it first so that build times
// show on their own. -run 'TestImages/-13$' builds Debian 13's only.
func TestImages(t *testing.T) {
	for _, l := range onReleases(LayoutBIOS, LayoutLVM, LayoutUEFI) {
		t.Run(l.Name, func(t *testing.T) {
			Require(t)
			t0 := time.Now()
			img, hit, err := EnsureImages(context.Background(), l, t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("phase build %s: %.1fs (cache hit: %v) in %s", l.Name, time.Since(t0).Seconds(), hit, img.Dir)
		})
	}
}

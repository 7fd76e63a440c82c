package e2e

import (
	"context"
	"testing"
	"time"
)

// TestImages builds (or finds in the cache) the images of every standard
// layout; make e2e runs it first so that build times show on their own.
func TestImages(t *testing.T) {
	Require(t)
	for _, l := range []Layout{LayoutBIOS, LayoutLVM, LayoutUEFI} {
		t0 := time.Now()
		img, hit, err := EnsureImages(context.Background(), l, t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("phase build %s: %.1fs (cache hit: %v) in %s", l.Name, time.Since(t0).Seconds(), hit, img.Dir)
	}
}

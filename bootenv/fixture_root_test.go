package bootenv_test

import (
	"context"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/report"
)

// releaseImageFile unmounts, at cleanup, what the test mounted of the
// images of root and detaches the loops of the image file target.
func releaseImageFile(t *testing.T, root, target string) {
	t.Cleanup(func() {
		bootenv.Umount(context.Background(), root, "", report.Discard)
		loops, _ := images.LoopsOf("/sys", target)
		for _, l := range loops {
			images.DetachLoop(l)
		}
	})
}

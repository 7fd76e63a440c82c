package bootenv

import (
	"context"
	"errors"

	"github.com/drd-linux/drd/internal/report"
)

// Status is what drd status shows.
type Status struct {
	Booted    *Image   `json:"booted"`    // the image whose root is --root
	Activated string   `json:"activated"` // name of the next boot target
	Images    []*Image `json:"images"`    // every image found, booted first
}

// Scan finds every image: the booted one at root and the ones on other
// block devices and image files drd made.
func Scan(ctx context.Context, root string) (*Status, error) {
	return nil, errors.New("not implemented yet")
}

// Mount mounts the inactive image name ("" for the only inactive one) under
// root's /var/opt/drd/mnts/<name> and returns that directory.
func Mount(ctx context.Context, root, name string, r report.Reporter) (string, error) {
	return "", errors.New("not implemented yet")
}

// Umount unmounts what Mount mounted, in reverse order, and detaches loops.
func Umount(ctx context.Context, root, name string, r report.Reporter) error {
	return errors.New("not implemented yet")
}

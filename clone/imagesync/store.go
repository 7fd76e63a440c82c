package imagesync

import (
	"fmt"
	"path"
	"strings"

	"github.com/drd-linux/drd/internal/inroot"
)

// Where drd sync keeps its files inside an image: in the clone, the
// manifest; in the booted image, the last sync's decision lists.
const (
	Dir          = "/var/opt/drd/sync"
	ManifestPath = Dir + "/manifest"
)

// Holder is the mount point, among mps, of the file system that holds
// the image path p (the longest that is p or a parent of it).
func Holder(mps []string, p string) string {
	best := "/"
	for _, mp := range mps {
		if (mp == p || mp == "/" || strings.HasPrefix(p, mp+"/")) && len(mp) > len(best) {
			best = mp
		}
	}
	return best
}

// manifestRel is where the manifest is inside the file system mounted at
// mp (the Holder of ManifestPath).
func manifestRel(mp string) string {
	rel, _ := relTo(mp, ManifestPath)
	return rel
}

// WriteManifest writes m into the clone: fsDir is where the file system
// whose mount point is mp (the Holder of ManifestPath) is mounted. The
// write is atomic and resolved inside that file system.
func WriteManifest(fsDir, mp string, m *Manifest) error {
	rel := manifestRel(mp)
	tr := inroot.Image(fsDir)
	if err := tr.MkdirAll(path.Dir(rel), 0o700); err != nil {
		return fmt.Errorf("writing the sync manifest: %w", err)
	}
	if err := tr.WriteFile(rel, m.Encode(), 0o600); err != nil {
		return fmt.Errorf("writing the sync manifest: %w", err)
	}
	return nil
}

// ReadManifest reads the clone's manifest from the file system mounted
// at fsDir (mount point mp).
func ReadManifest(fsDir, mp string) (*Manifest, error) {
	data, err := inroot.Image(fsDir).ReadFile(manifestRel(mp))
	if err != nil {
		return nil, err
	}
	m, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s in the clone: %w", ManifestPath, err)
	}
	return m, nil
}

package bootenv

import (
	"fmt"
	"regexp"
	"strconv"
	"sync"
)

// The names drd gives a clone's partitions and file systems carry the
// image's number: drd-sysimage_001-root (GPT), drd001-root and
// DRD001-ESP (labels).
var (
	partNameNumber  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^drd-sysimage_(\d{3})-`) })
	labelNameNumber = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:drd|DRD)(\d{3})-`) })
)

// NameOnDevice is the image name a device's GPT partition name or
// file-system label says it belongs to ("sysimage_001"), or "".
func NameOnDevice(id DevID) string {
	for _, m := range [][]string{partNameNumber().FindStringSubmatch(id.PartLabel), labelNameNumber().FindStringSubmatch(id.Label)} {
		if m != nil {
			n, _ := strconv.Atoi(m[1])
			return ImageName(n)
		}
	}
	return ""
}

// MaxImages is how many image names there are: sysimage_000 to _999.
const MaxImages = 1000

// FreeName is the lowest image name not in taken.
func FreeName(taken map[string]bool) (string, error) {
	for n := 0; n < MaxImages; n++ {
		if !taken[ImageName(n)] {
			return ImageName(n), nil
		}
	}
	return "", fmt.Errorf("every image name from %s to %s is taken: remove images with drd delete", ImageName(0), ImageName(MaxImages-1))
}

package bootenv

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ImageFilesPath lists the image files drd cloned to: a hint for finding
// images that are not on a block device while their file is not attached.
const ImageFilesPath = DataDir + "/image-files"

// ImageFiles returns the image files registered under root that still exist.
func ImageFiles(root string) []string {
	data, err := os.ReadFile(filepath.Join(root, ImageFilesPath))
	if err != nil {
		return nil
	}
	var files []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.TrimSpace(sc.Text())
		if f == "" || strings.HasPrefix(f, "#") {
			continue
		}
		if _, err := os.Stat(f); err == nil && !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	return files
}

// RegisterImageFile adds an image file to the list under root.
func RegisterImageFile(root, file string) error {
	files := ImageFiles(root)
	if slices.Contains(files, file) {
		return nil
	}
	files = append(files, file)
	return WriteFileAtomic(filepath.Join(root, ImageFilesPath), []byte(strings.Join(files, "\n")+"\n"), 0o644)
}

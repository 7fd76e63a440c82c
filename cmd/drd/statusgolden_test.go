package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestStatusGoldenFilesShowEveryImage checks the golden files of drd
// status on their own, not against what -update wrote: each lists every
// image of its case under "NAME on", with each of its file systems (mount
// point and device on one line), and the state of every image but the one
// it shows as the original.
func TestStatusGoldenFilesShowEveryImage(t *testing.T) {
	for name, mk := range statusCases {
		st := mk()
		for _, file := range []string{name + ".txt", name + "-v.txt"} {
			b, err := os.ReadFile(filepath.Join("testdata/status", file))
			if err != nil {
				t.Fatal(err)
			}
			text := string(b)
			lines := strings.Split(text, "\n")
			if !strings.HasPrefix(lines[0], "Original Disk:") {
				t.Fatalf("%s does not start with Original Disk:", file)
			}
			for _, img := range st.Images {
				i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, img.Name+" on ") })
				if i < 0 {
					t.Errorf("%s: no section %q", file, img.Name+" on ...")
					continue
				}
				end := i + 1
				for end < len(lines) && lines[end] != "" {
					end++
				}
				for _, fs := range img.FileSystems {
					dev := fs.Device
					if dev == "" {
						dev = "not" // no device now: "not present", "not attached"
					}
					if !slices.ContainsFunc(lines[i+1:end], func(l string) bool {
						f := strings.Fields(l)
						return slices.Contains(f, fs.MountPoint) && slices.Contains(f, dev)
					}) {
						t.Errorf("%s: section %s has no line with %s on %s", file, img.Name, fs.MountPoint, fs.Device)
					}
				}
				if !strings.Contains(lines[0], "("+img.Name+")") && img.State != "" {
					re := regexp.MustCompile(`(?m)^Clone State:\s+` + regexp.QuoteMeta(string(img.State)) + `\b`)
					if !re.MatchString(text) {
						t.Errorf("%s: no Clone State: %s (of %s)", file, img.State, img.Name)
					}
				}
			}
		}
	}
}

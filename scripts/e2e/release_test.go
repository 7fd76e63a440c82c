package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestLayoutOn(t *testing.T) {
	var names []string
	for _, l := range onReleases(LayoutBIOS, LayoutLVM, LayoutUEFI) {
		names = append(names, l.Name+":"+l.Release.Suite)
	}
	want := []string{"bios:bookworm", "lvm:bookworm", "uefi:bookworm", "bios-13:trixie", "lvm-13:trixie", "uefi-13:trixie"}
	if !slices.Equal(names, want) {
		t.Errorf("onReleases = %v, want %v", names, want)
	}
	if back := LayoutLVM13.On(Bookworm); !reflect.DeepEqual(back, LayoutLVM) {
		t.Errorf("lvm-13 back on Debian 12 is %+v, want LayoutLVM", back)
	}
	if LayoutUEFI13.Firmware != UEFI || len(LayoutLVM13.VGs) != 1 {
		t.Errorf("a layout on another release lost its disks: %+v %+v", LayoutUEFI13, LayoutLVM13)
	}
}

// The release is in a layout's cache key through its base system only:
// the layouts of Debian 12 keep the keys (and cached images) they had.
func TestReleaseKeys(t *testing.T) {
	spec, _ := json.Marshal(LayoutBIOS)
	if strings.Contains(string(spec), "bookworm") || strings.Contains(string(spec), "Release") {
		t.Errorf("the release is in the layout's JSON: %s", spec)
	}
	if baseKey(Bookworm) == baseKey(Trixie) {
		t.Error("Debian 12 and 13 have the same base key")
	}
	if !slices.Equal(Bookworm.packages(), basePackages) {
		t.Errorf("packages of Debian 12: %v, want %v", Bookworm.packages(), basePackages)
	}
}

func TestDanglingLinks(t *testing.T) {
	root := t.TempDir()
	if err := writeTree(root, map[string]file{
		"/usr/lib/systemd/system/a.service": {0o644, "[Unit]\n"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/lib", filepath.Join(root, "lib")); err != nil {
		t.Fatal(err)
	}
	files := map[string]file{
		"/etc/systemd/system/x.wants/a.service": {os.ModeSymlink, "/lib/systemd/system/a.service"},
		"/etc/systemd/system/x.wants/b.service": {os.ModeSymlink, "/lib/systemd/system/b.service"},
		"/etc/systemd/system/c.timer":           {os.ModeSymlink, "/dev/null"},
		"/etc/hostname":                         {0o644, "x\n"},
	}
	got := danglingLinks(root, files)
	if want := []string{"/etc/systemd/system/x.wants/b.service -> /lib/systemd/system/b.service"}; !slices.Equal(got, want) {
		t.Errorf("danglingLinks = %q, want %q", got, want)
	}
}

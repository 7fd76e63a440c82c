package bootenv

import (
	"strings"
	"testing"
)

// TestInactive: every image can be reached by name, and two images of
// the same name (an older drd made them) by disk or image file; without
// a name, the error lists the names to choose from.
func TestInactive(t *testing.T) {
	booted := &Image{Record: Record{Name: "sysimage_000"}, Disk: "/dev/vda", Booted: true}
	booted.FileSystems = []FileSystem{{MountPoint: "/"}}
	a := &Image{Record: Record{Name: "sysimage_001", ID: "id-a"}, Disk: "/dev/vdb"}
	b := &Image{Record: Record{Name: "sysimage_002", ID: "id-b"}, Disk: "/dev/loop4", ImageFile: "/srv/b.img"}
	dup := &Image{Record: Record{Name: "sysimage_001", ID: "id-c"}, Disk: "/dev/vdc"}
	tests := []struct {
		images []*Image
		name   string
		want   *Image
		err    []string
	}{
		{[]*Image{booted, a}, "", a, nil},
		{[]*Image{booted, a, b}, "sysimage_002", b, nil},
		{[]*Image{booted, a, b}, "/srv/b.img", b, nil},
		{[]*Image{booted, a, b}, "", nil, []string{"several inactive images", "sysimage_001 (on /dev/vdb)", "sysimage_002 (on /srv/b.img)", "name one"}},
		{[]*Image{booted, a, b}, "sysimage_009", nil, []string{"no image sysimage_009", "sysimage_001 (on /dev/vdb)"}},
		{[]*Image{booted, a, dup}, "sysimage_001", nil, []string{"several images are called sysimage_001", "/dev/vdb (sysimage_001)", "/dev/vdc (sysimage_001)", "by its disk"}},
		{[]*Image{booted, a, dup}, "/dev/vdc", dup, nil},
		{[]*Image{booted, a, dup}, "id-a", a, nil},
		{[]*Image{booted, a, dup}, "", nil, []string{"/dev/vdb (sysimage_001), /dev/vdc (sysimage_001)"}},
		{[]*Image{booted, a}, "sysimage_000", nil, []string{"the booted image"}},
		{[]*Image{booted}, "", nil, []string{"no inactive image", "drd clone"}},
	}
	for _, tt := range tests {
		st := &Status{Booted: booted, Images: tt.images}
		got, err := st.Inactive(tt.name)
		if got != tt.want {
			t.Errorf("%d images, Inactive(%q) = %+v, want %+v", len(tt.images), tt.name, got, tt.want)
		}
		for _, w := range tt.err {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%d images, Inactive(%q): error %v, want one saying %q", len(tt.images), tt.name, err, w)
			}
		}
		if tt.err == nil && err != nil {
			t.Errorf("Inactive(%q): %v", tt.name, err)
		}
	}
}

// TestInactiveWithAnUnreadableDevice: a device that looks like an image
// but could not be read is named in every error, and the one image that
// could be read is not taken without its name: it may not be the one
// meant.
func TestInactiveWithAnUnreadableDevice(t *testing.T) {
	booted := &Image{Record: Record{Name: "sysimage_000"}, Disk: "/dev/vda", Booted: true}
	booted.FileSystems = []FileSystem{{MountPoint: "/"}}
	a := &Image{Record: Record{Name: "sysimage_001", ID: "id-a"}, Disk: "/dev/vdb"}
	bad := Problem{Kind: Unreadable, What: "/dev/vdc2 (sysimage_002 by its partition name)", Device: "/dev/vdc2"}
	stuck := Problem{Kind: StillMounted, What: "the /boot file system of sysimage_001"}
	tests := []struct {
		images   []*Image
		problems []Problem
		name     string
		want     *Image
		err      []string
	}{
		{[]*Image{booted, a}, []Problem{bad}, "sysimage_001", a, nil},
		{[]*Image{booted, a}, []Problem{bad}, "", nil, []string{"only inactive image drd can read is sysimage_001", "/dev/vdc2 (sysimage_002", "could not be read", "name the image"}},
		{[]*Image{booted, a}, []Problem{bad}, "sysimage_002", nil, []string{"no image sysimage_002", "/dev/vdc2 (sysimage_002", "drd status"}},
		{[]*Image{booted}, []Problem{bad}, "", nil, []string{"no inactive image drd can read", "/dev/vdc2"}},
		{[]*Image{booted, a}, []Problem{stuck}, "", a, nil},
	}
	for _, tt := range tests {
		st := &Status{Booted: booted, Images: tt.images, Problems: tt.problems}
		got, err := st.Inactive(tt.name)
		if got != tt.want {
			t.Errorf("%d images, Inactive(%q) = %+v, want %+v", len(tt.images), tt.name, got, tt.want)
		}
		for _, w := range tt.err {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%d images, Inactive(%q): error %v, want one saying %q", len(tt.images), tt.name, err, w)
			}
		}
		if tt.err == nil && err != nil {
			t.Errorf("Inactive(%q): %v", tt.name, err)
		}
	}
}

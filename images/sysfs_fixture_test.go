package images

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// fakeSys builds a sysfs tree in a temporary directory the way the kernel
// lays it out: devices under /sys/devices, partitions as subdirectories of
// their disk, and /sys/class/block and /sys/dev/block as relative links.
type fakeSys struct {
	t    *testing.T
	root string
	dirs map[string]string // kernel name -> directory under devices
}

func newFakeSys(t *testing.T) *fakeSys {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"class/block", "dev/block", "devices"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &fakeSys{t: t, root: root, dirs: map[string]string{}}
}

// disk adds a whole disk at devices/<parent>/<name>; sectors of 512 bytes.
func (f *fakeSys) disk(parent, name string, major, minor uint32, sectors int64) *fakeSys {
	f.t.Helper()
	dir := filepath.Join("devices", parent, "block", name)
	f.add(name, dir, major, minor, map[string]string{"size": fmt.Sprint(sectors), "ro": "0"})
	return f
}

// part adds partition number n of disk.
func (f *fakeSys) part(disk, name string, n int, major, minor uint32, start, sectors int64) *fakeSys {
	f.t.Helper()
	dir := filepath.Join(f.dirs[disk], name)
	f.add(name, dir, major, minor, map[string]string{
		"size": fmt.Sprint(sectors), "start": fmt.Sprint(start), "partition": fmt.Sprint(n), "ro": "0",
	})
	return f
}

// holder makes holder (a dm or md device) stacked on name.
func (f *fakeSys) holder(name, holder string) *fakeSys {
	f.t.Helper()
	link := filepath.Join(f.root, f.dirs[name], "holders", holder)
	rel, err := filepath.Rel(filepath.Dir(link), filepath.Join(f.root, f.dirs[holder]))
	if err != nil {
		f.t.Fatal(err)
	}
	f.must(os.Symlink(rel, link))
	return f
}

// attr writes one attribute file of name.
func (f *fakeSys) attr(name, file, value string) *fakeSys {
	f.t.Helper()
	p := filepath.Join(f.root, f.dirs[name], file)
	f.must(os.MkdirAll(filepath.Dir(p), 0o755))
	f.must(os.WriteFile(p, []byte(value+"\n"), 0o644))
	return f
}

func (f *fakeSys) add(name, dir string, major, minor uint32, attrs map[string]string) {
	f.t.Helper()
	f.dirs[name] = dir
	abs := filepath.Join(f.root, dir)
	f.must(os.MkdirAll(filepath.Join(abs, "holders"), 0o755))
	attrs["dev"] = fmt.Sprintf("%d:%d", major, minor)
	for k, v := range attrs {
		f.must(os.WriteFile(filepath.Join(abs, k), []byte(v+"\n"), 0o644))
	}
	f.must(os.Symlink(filepath.Join("../..", dir), filepath.Join(f.root, "class/block", name)))
	f.must(os.Symlink(filepath.Join("../..", dir), filepath.Join(f.root, "dev/block", attrs["dev"])))
}

func (f *fakeSys) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// sampleSys is a machine with a virtio disk, an NVMe disk, a loop device
// with partitions, an LVM volume on vda3 and a RAID on nvme0n1p1.
func sampleSys(t *testing.T) *fakeSys {
	f := newFakeSys(t)
	f.disk("pci0000:00/0000:00:02.0/virtio1", "vda", 254, 0, 41943040).
		part("vda", "vda1", 1, 254, 1, 2048, 2048).
		part("vda", "vda2", 2, 254, 2, 4096, 1048576).
		part("vda", "vda3", 3, 254, 3, 1052672, 40888320).
		disk("pci0000:00/0000:00:04.0/nvme/nvme0", "nvme0n1", 259, 0, 2097152).
		part("nvme0n1", "nvme0n1p1", 1, 259, 1, 2048, 2095104).
		disk("virtual", "loop0", 7, 0, 204800).
		part("loop0", "loop0p1", 1, 259, 2, 2048, 65536).
		part("loop0", "loop0p2", 2, 259, 3, 67584, 135168).
		attr("loop0", "loop/backing_file", "/var/tmp/disk img.raw").
		disk("virtual", "dm-0", 253, 0, 20971520).
		attr("dm-0", "dm/name", "vg-root").
		disk("virtual", "md127", 9, 127, 2093056).
		holder("vda3", "dm-0").
		holder("nvme0n1p1", "md127").
		attr("vda", "ro", "0").
		attr("nvme0n1", "ro", "1")
	return f
}

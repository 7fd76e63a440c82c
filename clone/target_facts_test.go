package clone

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
)

// fakeBlock adds a block device to a sysfs tree under sys: its kernel
// name, major:minor, size in 512-byte sectors, and the file behind it
// when it is a loop device ("" for none). No /dev node is made: the
// facts come from sysfs and mountinfo alone.
func fakeBlock(t *testing.T, sys, name, dev string, sectors int, backing string) {
	t.Helper()
	dir := filepath.Join(sys, "class", "block", name)
	files := map[string]string{"dev": dev, "size": strconv.Itoa(sectors), "ro": "0"}
	if backing != "" {
		files["loop/backing_file"] = backing
	}
	for f, v := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fakeProc writes a mountinfo (and no swaps) under a temporary proc.
func fakeProc(t *testing.T, mountinfo string) string {
	t.Helper()
	proc := t.TempDir()
	if err := os.MkdirAll(filepath.Join(proc, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proc, "self", "mountinfo"), []byte(mountinfo), 0o644); err != nil {
		t.Fatal(err)
	}
	return proc
}

const rootMount = "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"

// An image file attached to a loop device whose file system is mounted:
// readTarget names the loop device and why it is busy, and checkTarget
// refuses the file as in use, naming what to do.
func TestReadTargetImageFileOnMountedLoop(t *testing.T) {
	sys := t.TempDir()
	img := filepath.Join(t.TempDir(), "clone.img")
	if err := os.WriteFile(img, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.img")
	if err := os.WriteFile(other, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fakeBlock(t, sys, "vda", "254:0", 1<<21, "")
	fakeBlock(t, sys, "loop5", "7:5", 8, img)
	fakeBlock(t, sys, "loop6", "7:6", 8, other)
	proc := fakeProc(t, rootMount+"40 22 7:5 / /mnt/clone rw,relatime shared:9 - ext4 /dev/loop5 rw\n")

	f, err := readTarget(sys, proc, img)
	if err != nil {
		t.Fatal(err)
	}
	if !f.exists || f.isBlock || f.size != 4096 || f.signature != "" {
		t.Errorf("facts of %s: exists %v, block %v, size %d, signature %q; want a 4096-byte file with no signature", img, f.exists, f.isBlock, f.size, f.signature)
	}
	if !slices.Equal(f.loops, []string{"/dev/loop5"}) {
		t.Errorf("loops = %q, want [/dev/loop5] (loop6 is another file's)", f.loops)
	}
	if len(f.inUse) == 0 || !strings.Contains(strings.Join(f.inUse, "; "), "/mnt/clone") {
		t.Fatalf("inUse = %q, want the mount at /mnt/clone", f.inUse)
	}
	err = checkTarget(f, &bootenv.Layout{}, 1024, true)
	if err == nil || !strings.HasPrefix(err.Error(), "target "+img+" is in use: ") || !strings.Contains(err.Error(), "free it first (umount, swapoff, vgchange -an)") {
		t.Errorf("checkTarget = %v, want a refusal as in use that says what to do", err)
	}

	// Detached (no mount of loop5): the loop is still listed, nothing busy.
	proc = fakeProc(t, rootMount)
	if f, err = readTarget(sys, proc, img); err != nil {
		t.Fatal(err)
	}
	if len(f.inUse) != 0 || !slices.Equal(f.loops, []string{"/dev/loop5"}) {
		t.Errorf("unmounted: inUse %q, loops %q; want none busy, [/dev/loop5]", f.inUse, f.loops)
	}
	if err := checkTarget(f, &bootenv.Layout{}, 1024, false); err != nil {
		t.Errorf("an idle, blank, large enough file: %v", err)
	}
}

// The targets readTarget refuses before any decision, each naming the
// target and the way out.
func TestReadTargetRefusals(t *testing.T) {
	sys := t.TempDir()
	fakeBlock(t, sys, "vda", "254:0", 1<<21, "")
	proc := fakeProc(t, rootMount)
	dir := t.TempDir()
	for _, tt := range []struct{ target, want string }{
		{"/dev/drd-unit-no-such-disk", "target /dev/drd-unit-no-such-disk does not exist: give a whole disk (lsblk lists them) or an image file path outside /dev"},
		{filepath.Join(dir, "no", "such", "dir", "x.img"), "target " + filepath.Join(dir, "no", "such", "dir", "x.img") + ": its directory does not exist: "},
		{"/dev/null", "target /dev/null is neither a block device nor a regular file"},
		{dir, "target " + dir + " is neither a block device nor a regular file"},
	} {
		_, err := readTarget(sys, proc, tt.target)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("readTarget(%s) = %v, want %q", tt.target, err, tt.want)
		}
	}
	// A new file in an existing directory: not there yet, nothing to refuse.
	p := filepath.Join(dir, "new.img")
	f, err := readTarget(sys, proc, p)
	if err != nil || f.exists || f.size != 0 || f.path != p {
		t.Fatalf("readTarget(%s) = %+v, %v; want a target that does not exist yet", p, f, err)
	}
	if err := checkTarget(f, &bootenv.Layout{}, 1<<40, false); err != nil {
		t.Errorf("a file not made yet has no size to be too small: %v", err)
	}
}

// checkTarget's refusals, each naming the target, the reason and what to
// do, and the order they come in: a partition before anything, the
// booted image's disk before "in use" (it is always in use), in use
// before size, size before data.
func TestCheckTargetRefusals(t *testing.T) {
	src := &bootenv.Layout{Critical: []bootenv.SystemFS{
		{Dev: bootenv.BlockDev{Disk: "/dev/vda"}, FileSystem: bootenv.FileSystem{MountPoint: "/", Device: "/dev/vda2"}},
		{Dev: bootenv.BlockDev{Disk: "/dev/vdb"}, FileSystem: bootenv.FileSystem{MountPoint: "/var", Device: "/dev/vdb1"}},
	}}
	const gib = int64(1) << 30
	disk := func(d string) targetFacts {
		return targetFacts{path: d, isBlock: true, exists: true, disk: d, wholeDisk: d, size: 8 * gib}
	}
	tests := []struct {
		name string
		f    targetFacts
		over bool
		want string // "" for accepted
	}{
		{"free disk", disk("/dev/vdc"), false, ""},
		{"booted root's disk", disk("/dev/vda"), true, "target /dev/vda holds the booted image's / (/dev/vda2): choose another disk"},
		{"booted /var's disk, busy too", func() targetFacts { f := disk("/dev/vdb"); f.inUse = []string{"vdb1 is mounted at /var"}; return f }(), true,
			"target /dev/vdb holds the booted image's /var (/dev/vdb1): choose another disk"},
		{"in use and small", func() targetFacts {
			f := disk("/dev/vdc")
			f.inUse, f.size = []string{"vdc1 is swap", "vdc2 is mounted at /srv"}, 1
			return f
		}(), true, "target /dev/vdc is in use: vdc1 is swap; vdc2 is mounted at /srv; free it first (umount, swapoff, vgchange -an)"},
		{"too small, with data", func() targetFacts {
			f := disk("/dev/vdc")
			f.size, f.signature = 3*gib, "gpt partition table"
			return f
		}(), false,
			"target /dev/vdc has 3.0 GiB; the clone needs at least 4.0 GiB (the critical file systems' used space plus 10%, and boot partitions): use a larger disk or -x image_size"},
		{"exactly large enough", func() targetFacts { f := disk("/dev/vdc"); f.size = 4 * gib; return f }(), false, ""},
		{"image file elsewhere on the booted disk", targetFacts{path: "/srv/x.img", exists: true, size: 8 * gib}, false, ""},
	}
	for _, tt := range tests {
		err := checkTarget(tt.f, src, 4*gib, tt.over)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tt.name, err)
		case tt.want != "" && (err == nil || err.Error() != tt.want):
			t.Errorf("%s: got %v\nwant %s", tt.name, err, tt.want)
		}
	}
}

// An image file that holds a partition table is found carrying data:
// refused unless the administrator asks to overwrite it.
func TestReadTargetFileWithPartitionTable(t *testing.T) {
	sys := t.TempDir()
	fakeBlock(t, sys, "vda", "254:0", 1<<21, "")
	proc := fakeProc(t, rootMount)
	b := make([]byte, 1<<20)
	b[446+4] = 0x83 // one Linux partition
	b[510], b[511] = 0x55, 0xaa
	p := filepath.Join(t.TempDir(), "used.img")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := readTarget(sys, proc, p)
	if err != nil {
		t.Fatal(err)
	}
	if f.signature != "dos partition table" {
		t.Errorf("signature = %q, want dos partition table", f.signature)
	}
	want := "target " + p + " carries data (found: dos partition table): to overwrite it, run again with -x overwrite=true"
	if err := checkTarget(f, &bootenv.Layout{}, 1<<19, false); err == nil || err.Error() != want {
		t.Errorf("checkTarget = %v, want %q", err, want)
	}
	if err := checkTarget(f, &bootenv.Layout{}, 1<<19, true); err != nil {
		t.Errorf("with overwrite: %v", err)
	}
}

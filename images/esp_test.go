package images

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheckFAT32(t *testing.T) {
	tests := []struct {
		size   int64
		label  string
		errHas string
	}{
		{32 * mib, "ESP", "make the partition at least 33 MiB"},
		{33 * mib, "ESP", ""},
		{33 * mib, "", ""},
		{512 * mib, "EFI SYSTEM", ""},
		{33 * mib, "TWELVE CHARS", "longer than 11"},
		{33 * mib, "A/B", "not allowed"},
		{64 << 30, "ESP", "32 GiB"},
	}
	for _, tt := range tests {
		err := checkFAT32(tt.size, tt.label)
		if tt.errHas == "" && err != nil || tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)) {
			t.Errorf("checkFAT32(%d, %q) = %v, want %q", tt.size, tt.label, err, tt.errHas)
		}
	}
	if err := checkFAT32(20*mib, ""); !errors.Is(err, ErrTooSmall) {
		t.Errorf("20 MiB: %v, want ErrTooSmall", err)
	}
}

// mtools runs an mtools command with UTC times and no ~/.mtoolsrc checks.
func mtools(t *testing.T, argv ...string) string {
	t.Helper()
	if _, err := exec.LookPath(argv[0]); err != nil {
		t.Skipf("no %s", argv[0])
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "TZ=UTC", "MTOOLS_SKIP_CHECK=1", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// fsckClean runs fsck.vfat -n and fails on any complaint.
func fsckClean(t *testing.T, img string) {
	t.Helper()
	if _, err := exec.LookPath("fsck.vfat"); err != nil {
		t.Skip("no fsck.vfat")
	}
	out, err := exec.Command("fsck.vfat", "-n", img).CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err != nil || len(lines) != 2 { // version line and the summary line only
		t.Errorf("fsck.vfat -n %s: %v\n%s", img, err, out)
	}
}

func TestMakeFAT32(t *testing.T) {
	for _, size := range []int64{33 * mib, 64 * mib, 256 * mib, 300 * mib} {
		img := sparseFile(t, t.TempDir(), "esp.img", size)
		// an old ext4 and an md superblock must not survive
		run(t, "mkfs.ext4", "-q", "-F", img)
		old, _ := mdFixture(t, "0.90", size)
		copyTail(t, old, img, 128<<10)
		if err := MakeFAT32(img, 0, "EFI-SYS", 0x1a2b3c4d); err != nil {
			t.Fatal(err)
		}
		got, err := ProbePath(img)
		want := Signature{Type: "vfat", UUID: "1A2B-3C4D", Label: "EFI-SYS"}
		if err != nil || got != want {
			t.Errorf("%d MiB: Probe = %+v, %v; want %+v", size/mib, got, err, want)
		}
		checkAgainstBlkid(t, img, "vfat")
		if b := blkid(t, img); b["VERSION"] != "FAT32" {
			t.Errorf("blkid VERSION = %q, want FAT32", b["VERSION"])
		}
		fsckClean(t, img)
	}
	small := sparseFile(t, t.TempDir(), "small.img", 20*mib)
	if err := MakeFAT32(small, 0, "ESP", 1); !errors.Is(err, ErrTooSmall) || !strings.Contains(err.Error(), small) {
		t.Errorf("MakeFAT32 on 20 MiB: %v, want ErrTooSmall naming the file", err)
	}
}

// copyTail copies the last n bytes of src over the last n bytes of dst
// (files of the same size).
func copyTail(t *testing.T, src, dst string, n int64) {
	t.Helper()
	b, off := readTail(t, src, n)
	f, err := os.OpenFile(dst, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// readTail returns the last n bytes of a file and their offset.
func readTail(t *testing.T, name string, n int64) ([]byte, int64) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, size-n); err != nil {
		t.Fatal(err)
	}
	return b, size - n
}

// espTree makes a directory tree like a real ESP and returns its root
// and the number of files in it.
func espTree(t *testing.T) (string, int) {
	t.Helper()
	root := t.TempDir()
	rnd := rand.New(rand.NewSource(1))
	blob := func(n int) []byte {
		b := make([]byte, n)
		rnd.Read(b)
		return b
	}
	files := map[string][]byte{
		"EFI/BOOT/BOOTX64.EFI":                            blob(300 << 10),
		"EFI/debian/grubx64.efi":                          blob(1536 << 10),
		"EFI/debian/shimx64.efi":                          blob(900<<10 + 17),
		"EFI/debian/grub.cfg":                             []byte("search.fs_uuid 0b5b8f2a root\nconfigfile $prefix/grub.cfg\n"),
		"EFI/debian/BOOTX64.CSV":                          []byte("s\x00h\x00i\x00m\x00"),
		"loader/entries/debian 6.1.0-28-amd64.conf":       []byte("title Debian\nlinux /vmlinuz\n"),
		"loader/loader.conf":                              []byte("timeout 3\n"),
		"MixedCase.Txt":                                   []byte("mixed"),
		"empty":                                           nil,
		"one-cluster.bin":                                 blob(512),
		"a/b/c/d/e/deep file with a rather long name.txt": []byte("deep"),
	}
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		mt := time.Date(2024, 3, 5, 10, 20, 30, 0, time.UTC)
		os.Chtimes(p, mt, mt)
	}
	if err := os.MkdirAll(filepath.Join(root, "EFI/empty dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root, len(files)
}

// extract copies the whole FAT image out with mtools.
func extract(t *testing.T, img string) string {
	t.Helper()
	out := t.TempDir()
	mtools(t, "mcopy", "-i", img, "-s", "-m", "-n", "::/", out)
	return out
}

// treeOf lists a directory tree: path -> content (or "<dir>"), plus
// the mtime of files.
func treeOf(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			m[rel] = "<dir>"
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		m[rel] = string(b) + "|" + info.ModTime().UTC().Format(time.RFC3339)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameTree(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: %s missing", what, k)
		} else if g != v {
			t.Errorf("%s: %s differs (%d bytes, want %d)", what, k, len(g), len(v))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected %s", what, k)
		}
	}
}

// TestCopyFAT fills a FAT32 image made by mkfs.vfat with mtools, copies
// it with CopyFAT into one made by MakeFAT32, and compares what mtools
// reads back from both; fsck.vfat must find the copy clean.
func TestCopyFAT(t *testing.T) {
	for _, fat := range []string{"32", "16"} {
		t.Run("FAT"+fat, func(t *testing.T) {
			dir := t.TempDir()
			src := sparseFile(t, dir, "src.img", 64*mib)
			run(t, "mkfs.vfat", "-F", fat, "-n", "SRC", src)
			tree, nfiles := espTree(t)
			entries, _ := os.ReadDir(tree)
			args := []string{"mcopy", "-i", src, "-s", "-m"}
			for _, e := range entries {
				args = append(args, filepath.Join(tree, e.Name()))
			}
			mtools(t, append(args, "::/")...)
			mtools(t, "mattrib", "-i", src, "+h", "+s", "::/EFI/debian/BOOTX64.CSV")

			dst := sparseFile(t, dir, "dst.img", 64*mib)
			if err := MakeFAT32(dst, 0, "ESP", 0xcafe0001); err != nil {
				t.Fatal(err)
			}
			n, err := CopyFAT(context.Background(), src, dst)
			if err != nil {
				t.Fatal(err)
			}
			if n != nfiles {
				t.Errorf("CopyFAT copied %d files, want %d", n, nfiles)
			}
			want := treeOf(t, extract(t, src))
			sameTree(t, "copy", treeOf(t, extract(t, dst)), want)
			attrs := mtools(t, "mattrib", "-i", dst, "::/EFI/debian/BOOTX64.CSV")
			if flags := strings.Fields(attrs)[0]; !strings.Contains(flags, "S") || !strings.Contains(flags, "H") {
				t.Errorf("attributes lost: %q", attrs)
			}
			fsckClean(t, dst)

			got, err := ReadFATFile(dst, "/efi/DEBIAN/grub.cfg")
			if err != nil || !bytes.HasPrefix(got, []byte("search.fs_uuid")) {
				t.Errorf("ReadFATFile = %.40q, %v", got, err)
			}
		})
	}
}

// TestWriteFATFile writes new, larger and smaller files and checks them
// with mtools and fsck.vfat.
func TestWriteFATFile(t *testing.T) {
	img := sparseFile(t, t.TempDir(), "esp.img", 40*mib)
	if err := MakeFAT32(img, 0, "ESP", 7); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 20000)
	steps := []struct {
		name string
		data []byte
	}{
		{"/EFI/drd/grub.cfg", []byte("set default=0\n")},
		{"/EFI/drd/grub.cfg", big},
		{"EFI/drd/grub.cfg", []byte("small again\n")},
		{"/loader/entries/new entry.conf", []byte("title x\n")},
		{"/empty", nil},
	}
	for _, s := range steps {
		if err := WriteFATFile(img, s.name, s.data); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFATFile(img, s.name)
		if err != nil || !bytes.Equal(got, s.data) {
			t.Errorf("%s: read back %d bytes, %v; want %d", s.name, len(got), err, len(s.data))
		}
	}
	out := extract(t, img)
	for name, want := range map[string]string{"EFI/drd/grub.cfg": "small again\n", "loader/entries/new entry.conf": "title x\n", "empty": ""} {
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(b) != want {
			t.Errorf("mcopy %s: %d bytes %.40q, %v; want %q", name, len(b), b, err, want)
		}
	}
	fsckClean(t, img)
	if _, err := ReadFATFile(img, "/nope"); err == nil {
		t.Errorf("ReadFATFile of a missing file: no error")
	}
}

// TestFixFAT32 leaks clusters the way go-diskfs's Remove does and checks
// that fixFAT32 frees them; a looping cluster chain is refused.
func TestFixFAT32(t *testing.T) {
	img := sparseFile(t, t.TempDir(), "esp.img", 40*mib)
	if err := MakeFAT32(img, 0, "ESP", 7); err != nil {
		t.Fatal(err)
	}
	if err := WriteFATFile(img, "/big", bytes.Repeat([]byte{1}, 100000)); err != nil {
		t.Fatal(err)
	}
	fs, err := openFAT(img, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Remove("/big"); err != nil {
		t.Fatal(err)
	}
	fs.Close()
	if out, err := exec.Command("fsck.vfat", "-n", img).CombinedOutput(); err == nil {
		t.Logf("go-diskfs's Remove no longer leaks clusters?\n%s", out)
	}
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := fixFAT32(f); err != nil {
		t.Fatal(err)
	}
	fsckClean(t, img)

	// make cluster 3 point to itself and give it to a file
	if err := WriteFATFile(img, "/loop", []byte("x")); err != nil {
		t.Fatal(err)
	}
	v, err := readFAT32Volume(f)
	if err != nil {
		t.Fatal(err)
	}
	var c uint32
	for c = 3; v.fat[c] != fat32Mask; c++ {
	}
	v.fat[c] = c
	if err := v.writeFATs(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := fixFAT32(f); err == nil || !strings.Contains(err.Error(), "loops") {
		t.Errorf("fixFAT32 on a looping chain: %v", err)
	}
	if after, err := os.ReadFile(img); err != nil || !bytes.Equal(before, after) {
		t.Errorf("fixFAT32 wrote to a file system it refused (%v)", err)
	}
}

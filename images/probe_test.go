package images

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// blkid runs blkid -p -o export on path and returns its fields, or skips
// the test when blkid is missing.
func blkid(t *testing.T, path string) map[string]string {
	t.Helper()
	if _, err := exec.LookPath("blkid"); err != nil {
		t.Skip("no blkid")
	}
	out, err := exec.Command("blkid", "-p", "-o", "export", path).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 2 {
			return map[string]string{} // nothing found
		}
		t.Fatalf("blkid -p %s: %v", path, err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok {
			m[k] = unescapeExport(v)
		}
	}
	return m
}

// unescapeExport undoes the backslash escapes of blkid -o export.
func unescapeExport(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// run runs a command line or fails the test; it skips when the program
// is not installed.
func run(t *testing.T, argv ...string) string {
	t.Helper()
	if _, err := exec.LookPath(argv[0]); err != nil {
		t.Skipf("no %s", argv[0])
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil && os.Geteuid() != 0 && strings.Contains(string(out), "cannot check mount status") {
		// mkfs.btrfs opens every loop device to see whether one backs
		// the file; without root it cannot while any loop is attached.
		t.Skipf("%s: needs root while loop devices are attached: %s", argv[0], bytes.TrimSpace(out))
	}
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// sparseFile makes an empty file of size bytes in dir.
func sparseFile(t *testing.T, dir, name string, size int64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
	return p
}

func checkAgainstBlkid(t *testing.T, img string, wantType string) {
	t.Helper()
	got, err := ProbePath(img)
	if err != nil {
		t.Fatal(err)
	}
	b := blkid(t, img)
	want := Signature{Type: b["TYPE"], UUID: b["UUID"], Label: b["LABEL"]}
	if got != want {
		t.Errorf("Probe = %+v, blkid says %+v", got, want)
	}
	if got.Type != wantType {
		t.Errorf("type %q, want %q", got.Type, wantType)
	}
}

// TestProbeMkfs makes file systems with the real tools on image files and
// compares Probe with blkid.
func TestProbeMkfs(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name string
		size int64
		typ  string
		mk   func(t *testing.T, img string)
	}{
		{"ext4", 8 * mib, "ext4", func(t *testing.T, img string) {
			run(t, "mkfs.ext4", "-q", "-F", "-L", "my root", img)
		}},
		{"ext4-nojournal", 8 * mib, "ext4", func(t *testing.T, img string) {
			run(t, "mkfs.ext4", "-q", "-F", "-O", "^has_journal", img)
		}},
		{"ext3", 8 * mib, "ext3", func(t *testing.T, img string) {
			run(t, "mkfs.ext3", "-q", "-F", "-L", "boot", img)
		}},
		{"ext2", 8 * mib, "ext2", func(t *testing.T, img string) {
			run(t, "mkfs.ext2", "-q", "-F", "-U", "0b5b8f2a-1c7e-4a53-9b0e-3e5f2d6c7a81", img)
		}},
		{"xfs", 320 * mib, "xfs", func(t *testing.T, img string) {
			run(t, "mkfs.xfs", "-q", "-f", "-L", "var", img)
		}},
		{"btrfs", 128 * mib, "btrfs", func(t *testing.T, img string) {
			run(t, "mkfs.btrfs", "-q", "-f", "-L", "data vol", img)
		}},
		{"vfat32", 40 * mib, "vfat", func(t *testing.T, img string) {
			run(t, "mkfs.vfat", "-F", "32", "-n", "ESP", "-i", "1a2b3c4d", img)
		}},
		{"vfat32-nolabel", 40 * mib, "vfat", func(t *testing.T, img string) {
			run(t, "mkfs.vfat", "-F", "32", img)
		}},
		{"vfat16", 16 * mib, "vfat", func(t *testing.T, img string) {
			run(t, "mkfs.vfat", "-F", "16", "-n", "SMALL", img)
		}},
		{"vfat12", 1 * mib, "vfat", func(t *testing.T, img string) {
			run(t, "mkfs.vfat", "-F", "12", "-n", "FLOPPY", img)
		}},
		{"vfat32-relabeled", 40 * mib, "vfat", func(t *testing.T, img string) {
			run(t, "mkfs.vfat", "-F", "32", "-n", "OLD", img)
			run(t, "mlabel", "-i", img, "::NEWLABEL")
		}},
		{"swap", 8 * mib, "swap", func(t *testing.T, img string) {
			run(t, "mkswap", "-L", "swap1", img)
		}},
		{"squashfs", 0, "squashfs", func(t *testing.T, img string) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
			os.Remove(img)
			run(t, "mksquashfs", dir, img, "-quiet", "-no-progress")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := sparseFile(t, t.TempDir(), "img", tt.size)
			tt.mk(t, img)
			checkAgainstBlkid(t, img, tt.typ)
		})
	}
}

// TestProbeFATBootLabelOnly: a label only in the boot sector (the root
// directory entry removed) is not the label for blkid.
func TestProbeFATBootLabelOnly(t *testing.T) {
	img := sparseFile(t, t.TempDir(), "img", 40<<20)
	run(t, "mkfs.vfat", "-F", "32", "-n", "BOOTONLY", img)
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	boot := make([]byte, 512)
	if _, err := f.ReadAt(boot, 0); err != nil {
		t.Fatal(err)
	}
	p, ok := parseFATBootSector(boot)
	if !ok {
		t.Fatal("mkfs.vfat made no FAT boot sector?")
	}
	root := p.dataStart() + int64(p.rootCluster-2)*p.clusterBytes()
	entry := make([]byte, 11)
	if _, err := f.ReadAt(entry, root); err != nil || string(entry) != "BOOTONLY   " {
		t.Fatalf("first root entry %q, %v; want the label", entry, err)
	}
	if _, err := f.WriteAt([]byte{0xe5}, root); err != nil { // delete the label entry
		t.Fatal(err)
	}
	checkAgainstBlkid(t, img, "vfat")
}

func TestFormatUUID(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{[]byte{0x0b, 0x5b, 0x8f, 0x2a, 0x1c, 0x7e, 0x4a, 0x53, 0x9b, 0x0e, 0x3e, 0x5f, 0x2d, 0x6c, 0x7a, 0x81},
			"0b5b8f2a-1c7e-4a53-9b0e-3e5f2d6c7a81"},
		{make([]byte, 16), ""},
		{[]byte{1, 2}, ""},
	}
	for _, tt := range tests {
		if got := formatUUID(tt.in); got != tt.want {
			t.Errorf("formatUUID(%x) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// mdFixture writes Linux RAID superblocks by hand (no md driver needed).
func mdFixture(t *testing.T, version string, size int64) (img string, want Signature) {
	t.Helper()
	img = sparseFile(t, t.TempDir(), "md-"+version, size)
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	uuid := []byte{0x8c, 0x41, 0x2f, 0x0e, 0x5a, 0x31, 0x47, 0x9d, 0xa5, 0x0b, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66}
	sb := make([]byte, 4096)
	le := binary.LittleEndian
	le.PutUint32(sb[0:], mdMagic)
	var off int64
	switch version {
	case "0.90":
		off = size&^(64<<10-1) - 64<<10
		le.PutUint32(sb[4:], 0)
		le.PutUint32(sb[8:], 90)
		copy(sb[20:24], uuid[0:4])
		copy(sb[52:64], uuid[4:16])
		// 32-bit words, printed as numbers
		return write(t, f, sb, off, img, Signature{Type: "linux_raid_member", UUID: "0e2f418c-9d47-315a-2211-0ba566554433"})
	case "1.0":
		off = (size/512 - 16) &^ 7 * 512
	case "1.1":
		off = 0
	case "1.2":
		off = 4096
	}
	le.PutUint32(sb[4:], 1)
	copy(sb[16:32], uuid)
	copy(sb[32:], "host:root")
	le.PutUint64(sb[144:], uint64(off/512))
	return write(t, f, sb, off, img, Signature{Type: "linux_raid_member", UUID: "8c412f0e-5a31-479d-a50b-112233445566", Label: "host:root"})
}

func write(t *testing.T, f *os.File, b []byte, off int64, img string, want Signature) (string, Signature) {
	t.Helper()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	return img, want
}

func TestProbeMD(t *testing.T) {
	for _, v := range []string{"0.90", "1.0", "1.1", "1.2"} {
		t.Run(v, func(t *testing.T) {
			img, want := mdFixture(t, v, 8<<20+12345)
			got, err := ProbePath(img)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("Probe = %+v, want %+v", got, want)
			}
			if _, err := exec.LookPath("blkid"); err == nil {
				b := blkid(t, img)
				if b["TYPE"] != got.Type || b["UUID"] != got.UUID || b["LABEL"] != got.Label {
					t.Errorf("blkid says %v", b)
				}
			}
		})
	}
}

func TestProbeLUKS(t *testing.T) {
	h := make([]byte, 4096)
	copy(h, "LUKS\xba\xbe\x00\x02")
	copy(h[24:], "cryptroot")
	copy(h[168:], "3f1e5a52-8d0c-4b7e-9a61-2c4b6d8e0f13")
	got, err := Probe(bytes.NewReader(h), int64(len(h)))
	want := Signature{Type: "crypto_LUKS", UUID: "3f1e5a52-8d0c-4b7e-9a61-2c4b6d8e0f13", Label: "cryptroot"}
	if err != nil || got != want {
		t.Errorf("Probe = %+v, %v; want %+v", got, err, want)
	}
}

func TestProbeNothing(t *testing.T) {
	for _, size := range []int64{0, 100, 1 << 20} {
		if sig, err := Probe(bytes.NewReader(make([]byte, size)), size); err != ErrNoSignature {
			t.Errorf("Probe(%d zero bytes) = %+v, %v; want ErrNoSignature", size, sig, err)
		}
	}
}

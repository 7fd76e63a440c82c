package testsys

import (
	"encoding/binary"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/drd-linux/drd/images"
)

// SpoilExt sets an incompatible feature no kernel knows in the superblock
// of the ext file system with uuid in the partitioned image file target
// (not attached): drd's probe still finds the file system, the kernel
// refuses to mount it. It makes a mount fail after drd attached the file.
func SpoilExt(t testing.TB, target, uuid string) {
	t.Helper()
	parts, err := images.ReadGPT(target)
	if err != nil {
		t.Fatal(err)
	}
	want, err := hex.DecodeString(strings.ReplaceAll(uuid, "-", ""))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(target, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range parts {
		sb := make([]byte, 1024)
		if _, err := f.ReadAt(sb, p.Start+1024); err != nil {
			t.Fatal(err)
		}
		if string(sb[0x68:0x78]) != string(want) {
			continue
		}
		incompat := binary.LittleEndian.Uint32(sb[0x60:]) | 0x80000000
		binary.LittleEndian.PutUint32(sb[0x60:], incompat)
		if _, err := f.WriteAt(sb[0x60:0x64], p.Start+1024+0x60); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no partition of %s holds the file system %s", target, uuid)
}

// LosetupOf is what losetup lists attached to file (empty: nothing).
func LosetupOf(t testing.TB, file string) string {
	t.Helper()
	out, err := exec.Command("losetup", "-j", file).CombinedOutput()
	if err != nil {
		t.Fatalf("losetup -j %s: %v\n%s", file, err, out)
	}
	return strings.TrimSpace(string(out))
}

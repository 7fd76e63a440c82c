package bootenv

import (
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// TestInitrdWatchdog: the archive unpacks (by cpio, as the kernel would)
// into the module and the conf.d file initramfs-tools' /init sources,
// which loads that module armed for the trial's deadline.
func TestInitrdWatchdog(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("no cpio")
	}
	module := []byte("\x7fELF a module, 13 bytes long") // not a multiple of 4: padding
	archive, err := InitrdWatchdog(module, 120)
	if err != nil {
		t.Fatal(err)
	}
	if len(archive)%4 != 0 {
		t.Errorf("archive of %d bytes: want a multiple of 4", len(archive))
	}
	dir := t.TempDir()
	c := exec.Command("cpio", "-i", "-d", "--no-absolute-filenames", "--quiet")
	c.Dir, c.Stdin = dir, bytes.NewReader(archive)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("cpio -i: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "drd/softdog.ko")); !bytes.Equal(got, module) {
		t.Errorf("drd/softdog.ko = %q, want the module", got)
	}
	conf, err := os.ReadFile(filepath.Join(dir, "conf/conf.d/drd-trial-watchdog"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(conf), "insmod /drd/softdog.ko soft_margin=120 soft_active_on_boot=1") {
		t.Errorf("conf.d file does not arm softdog for 120 s:\n%s", conf)
	}
	if out, err := exec.Command("sh", "-n", filepath.Join(dir, "conf/conf.d/drd-trial-watchdog")).CombinedOutput(); err != nil {
		t.Errorf("the conf.d file is no valid shell: %v\n%s", err, out)
	}
}

// TestDecompressModule: a module in each of Debian's compressions comes
// out as the module; anything else is refused.
func TestDecompressModule(t *testing.T) {
	module := bytes.Repeat([]byte("softdog "), 1000)
	var gz, x, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(module)
	gw.Close()
	xw, _ := xz.NewWriter(&x)
	xw.Write(module)
	xw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(module)
	zw.Close()
	for name, data := range map[string][]byte{"softdog.ko": module, "softdog.ko.gz": gz.Bytes(), "softdog.ko.xz": x.Bytes(), "softdog.ko.zst": zs.Bytes()} {
		got, err := decompressModule(name, data)
		if err != nil || !bytes.Equal(got, module) {
			t.Errorf("%s: %d bytes, %v; want the module", name, len(got), err)
		}
	}
	if _, err := decompressModule("softdog.ko.xz", []byte("not xz")); err == nil {
		t.Error("a broken .xz was taken")
	}
	if _, err := decompressModule("softdog.ko.bz2", module); err == nil {
		t.Error("an unknown compression was taken")
	}
}

func TestKernelRelease(t *testing.T) {
	for in, want := range map[string]string{
		"/boot/vmlinuz-6.1.0-28-amd64":  "6.1.0-28-amd64",
		"/vmlinuz-6.12.117+deb13-amd64": "6.12.117+deb13-amd64",
		"/boot/bzImage":                 "",
		"/boot/vmlinuz-":                "",
	} {
		if got := KernelRelease(in); got != want {
			t.Errorf("KernelRelease(%q) = %q, want %q", in, got, want)
		}
	}
}

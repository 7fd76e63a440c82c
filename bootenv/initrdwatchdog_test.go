package bootenv

import (
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// TestInitrdWatchdog: the archive unpacks (by cpio, as the kernel would)
// into the modules and the conf.d file initramfs-tools' /init sources,
// which loads them in order, softdog last, armed for the deadline.
func TestInitrdWatchdog(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("no cpio")
	}
	mods := []Module{{"watchdog", []byte("\x7fELF the core")}, {"softdog", []byte("\x7fELF a module, 13 bytes")}}
	archive, err := InitrdWatchdog(mods, 120)
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
	for _, m := range mods {
		if got, _ := os.ReadFile(filepath.Join(dir, "drd", m.Name+".ko")); !bytes.Equal(got, m.Data) {
			t.Errorf("drd/%s.ko = %q, want the module", m.Name, got)
		}
	}
	conf, err := os.ReadFile(filepath.Join(dir, "conf/conf.d/drd-trial-watchdog"))
	if err != nil {
		t.Fatal(err)
	}
	core := strings.Index(string(conf), "insmod /drd/watchdog.ko")
	arm := strings.Index(string(conf), "insmod /drd/softdog.ko soft_margin=120 soft_active_on_boot=1")
	if core < 0 || arm < core {
		t.Errorf("conf.d file does not load watchdog.ko, then softdog armed for 120 s:\n%s", conf)
	}
	if out, err := exec.Command("sh", "-n", filepath.Join(dir, "conf/conf.d/drd-trial-watchdog")).CombinedOutput(); err != nil {
		t.Errorf("the conf.d file is no valid shell: %v\n%s", err, out)
	}
	if _, err := InitrdWatchdog(nil, 120); err == nil {
		t.Error("an archive without a module was made")
	}
}

// TestSoftdogLoadOrder: softdog's line of modules.dep gives what it
// needs first (the last listed loads first), then softdog; lines that
// would lead out of /lib/modules/REL, or too many modules, give nothing.
func TestSoftdogLoadOrder(t *testing.T) {
	for _, c := range []struct {
		dep  string
		want []string
	}{
		{"kernel/drivers/watchdog/watchdog.ko.xz:\nkernel/drivers/watchdog/softdog.ko.xz: kernel/drivers/watchdog/watchdog.ko.xz\n",
			[]string{"kernel/drivers/watchdog/watchdog.ko.xz", "kernel/drivers/watchdog/softdog.ko.xz"}},
		{"kernel/drivers/watchdog/softdog.ko:\n", []string{"kernel/drivers/watchdog/softdog.ko"}},
		{"kernel/x/softdog.ko: kernel/b.ko kernel/a.ko\n", []string{"kernel/a.ko", "kernel/b.ko", "kernel/x/softdog.ko"}},
		{"kernel/drivers/watchdog/softdog_x.ko:\n", nil},
		{"kernel/drivers/watchdog/softdog.ko: ../../../etc/shadow.ko\n", nil},
		{"/etc/softdog.ko:\n", nil},
		{"kernel/softdog.ko: a.ko b.ko c.ko d.ko e.ko f.ko g.ko h.ko\n", nil},
		{"kernel/softdog.ko: $(reboot).ko\n", nil},
		{"", nil},
	} {
		if got := softdogLoadOrder([]byte(c.dep)); !slices.Equal(got, c.want) {
			t.Errorf("softdogLoadOrder(%q) = %q, want %q", c.dep, got, c.want)
		}
	}
}

// FuzzSoftdogLoadOrder: whatever an image's modules.dep says, drd reads
// at most maxWatchdogModules plain relative paths of modules, softdog
// last.
func FuzzSoftdogLoadOrder(f *testing.F) {
	f.Add([]byte("kernel/drivers/watchdog/softdog.ko.xz: kernel/drivers/watchdog/watchdog.ko.xz\n"))
	f.Add([]byte("kernel/softdog.ko: ../x.ko\nkernel/softdog.ko:\n"))
	f.Fuzz(func(t *testing.T, dep []byte) {
		order := softdogLoadOrder(dep)
		if order == nil {
			return
		}
		if len(order) > maxWatchdogModules || moduleName(order[len(order)-1]) != "softdog" {
			t.Fatalf("order %q", order)
		}
		for _, p := range order {
			if strings.HasPrefix(p, "/") || strings.Contains(p, "..") || strings.ContainsAny(p, " \t\n$;`'\"") {
				t.Fatalf("path %q in %q", p, order)
			}
		}
	})
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

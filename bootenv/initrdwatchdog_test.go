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
// which loads them in order, softdog last, armed for the deadline of the
// command line, and nothing on a command line that arms no watchdog.
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
	if out, err := exec.Command("sh", "-n", filepath.Join(dir, "conf/conf.d/drd-trial-watchdog")).CombinedOutput(); err != nil {
		t.Errorf("the conf.d file is no valid shell: %v\n%s", err, out)
	}
	// What it loads, by the command line: GRUB's and kexec's trials carry
	// TrialWatchdogArgs; -x watchdog=0 or a plain boot carry none.
	armed300, _ := TrialWatchdogArgs(300)
	for _, c := range []struct{ cmdline, want string }{
		{"root=/dev/vda1 ro panic=10 " + armed300, "insmod /drd/watchdog.ko\ninsmod /drd/softdog.ko soft_margin=300 soft_active_on_boot=1\n"},
		{"panic=10 softdog.soft_active_on_boot=1 softdog.soft_margin=9;reboot", "insmod /drd/watchdog.ko\ninsmod /drd/softdog.ko soft_margin=120 soft_active_on_boot=1\n"},
		{"panic=10 softdog.soft_active_on_boot=1", "insmod /drd/watchdog.ko\ninsmod /drd/softdog.ko soft_margin=120 soft_active_on_boot=1\n"},
		{"root=/dev/vda1 ro panic=10", ""},
		{"root=/dev/vda1 ro softdog.soft_margin=300", ""},
	} {
		if got := runWatchdogConf(t, string(conf), c.cmdline); got != c.want {
			t.Errorf("with the command line %q it ran:\n%s\nwant:\n%s", c.cmdline, got, c.want)
		}
	}
	if _, err := InitrdWatchdog(nil, 120); err == nil {
		t.Error("an archive without a module was made")
	}
}

// runWatchdogConf sources conf as initramfs-tools' /init does, with
// cmdline for /proc/cmdline and insmod recorded, and returns the insmod
// commands it ran.
func runWatchdogConf(t *testing.T, conf, cmdline string) string {
	dir := t.TempDir()
	proc := filepath.Join(dir, "cmdline")
	log := filepath.Join(dir, "insmod.log")
	if err := os.WriteFile(proc, []byte(cmdline+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf = strings.ReplaceAll(conf, "/proc/cmdline", proc)
	script := `insmod() { echo "insmod $*" >> "$DRD_LOG"; }
. "$1"
`
	if err := os.WriteFile(filepath.Join(dir, "conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	c := exec.Command("sh", "-c", script, "sh", filepath.Join(dir, "conf"))
	c.Env = append(os.Environ(), "DRD_LOG="+log)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("sourcing the conf.d file: %v\n%s", err, out)
	}
	got, _ := os.ReadFile(log)
	return string(got)
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

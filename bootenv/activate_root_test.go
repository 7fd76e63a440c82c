package bootenv_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/internal/testsys"
)

// TestActivateOnLoop clones a small system with a (fake) kernel and a
// Debian-like grub.cfg to a loop device, then activates the clone on
// trial and deactivates it, checking what lands on both images' /boot:
// the clone's grub.cfg names its own file systems, both menus list both
// images, and the blocks (read by grub-editenv) say what GRUB will do.
func TestActivateOnLoop(t *testing.T) {
	s := testsys.ForTest(t, testsys.Options{})
	ctx := context.Background()
	bootUUID, rootUUID := debianBoot(t, s)
	if err := os.WriteFile(filepath.Join(s.Root, "boot/vmlinuz-6.1.0-9-amd64"), []byte("old kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	disk := testsys.LoopDisk(t, "target.img", 1<<30)
	if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: disk}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}

	// The booted image: hook, unit, menu, block.
	testsys.MustContain(t, filepath.Join(s.Root, "boot/grub/grub.cfg"), `source "${prefix}/drd.cfg"`)
	testsys.MustContain(t, filepath.Join(s.Root, "etc/grub.d/05_drd"), "drd.cfg")
	testsys.MustContain(t, filepath.Join(s.Root, "etc/systemd/system/multi-user.target.wants/drd-boot-check.service"), "boot-check")
	// The unit runs drd's own copy in the image, not the binary that ran
	// the clone (here: the test binary).
	testsys.MustContain(t, filepath.Join(s.Root, "etc/systemd/system/drd-boot-check.service"), "\nExecStart=/usr/lib/drd/drd boot-check\n")
	if exe, err := os.Executable(); err != nil {
		t.Fatal(err)
	} else if want, got := fileSum(t, exe), fileSum(t, filepath.Join(s.Root, bootenv.DrdPath)); got != want {
		t.Errorf("%s%s is not a copy of %s", s.Root, bootenv.DrdPath, exe)
	}
	editenv(t, filepath.Join(s.Root, "boot/grub/drdenv"), "drd_next=sysimage_000", "drd_trial=")

	st, err := bootenv.Scan(ctx, s.Root)
	if err != nil {
		t.Fatal(err)
	}
	var cl *bootenv.Image
	for _, img := range st.Images {
		if img.Disk == disk {
			cl = img
		}
	}
	if cl == nil {
		t.Fatalf("Scan did not find the clone on %s", disk)
	}
	testsys.MustContain(t, filepath.Join(s.Root, "boot/grub/drd.cfg"), "menuentry 'drd: "+cl.Name+", Linux 6.1.0-28-amd64'")
	if st.Boot == nil || st.Boot.Next != "sysimage_000" || st.Activated != "sysimage_000" {
		t.Fatalf("after the clone: boot %+v, activated %s", st.Boot, st.Activated)
	}
	seq := st.Boot.Seq

	// The clone's /boot: its grub.cfg names its own file systems.
	cloneBoot := withMounted(t, disk, "/boot", cl)
	cfg, err := os.ReadFile(filepath.Join(cloneBoot, "grub/grub.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	var cloneBootUUID, cloneRootUUID string
	for _, f := range cl.FileSystems {
		switch f.MountPoint {
		case "/boot":
			cloneBootUUID = f.UUID
		case "/":
			cloneRootUUID = f.UUID
		}
	}
	if strings.Contains(string(cfg), bootUUID) || !strings.Contains(string(cfg), cloneBootUUID) || !strings.Contains(string(cfg), "root=UUID="+cloneRootUUID) {
		t.Errorf("the clone's grub.cfg does not name its own file systems:\n%s", cfg)
	}
	testsys.MustContain(t, filepath.Join(cloneBoot, "grub/drd.cfg"), "set drd_self="+cl.Name)
	testsys.MustContain(t, filepath.Join(cloneBoot, "grub/drd.cfg"), "root=UUID="+rootUUID)
	unmount(t, cloneBoot)

	// Trial, then deactivate: both blocks follow, sequence numbers rise;
	// the trial's watchdog deadline is in both menus. A deadline too
	// short for a boot is refused before anything is written.
	m := bootenv.Real(s.Root)
	if err := m.Activate(ctx, bootenv.ActivateOptions{Image: cl.Name, Trial: true, Tries: 3, Watchdog: 30}, report.Discard); err == nil || !strings.Contains(err.Error(), "watchdog=30") {
		t.Errorf("a GRUB trial with watchdog=30: %v, want a refusal naming the deadline", err)
	}
	if err := m.Activate(ctx, bootenv.ActivateOptions{Image: cl.Name, Trial: true, Tries: 3, Watchdog: 300}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(s.Root, "boot/grub/drdenv"), filepath.Join(withMounted(t, disk, "/boot", cl), "grub/drdenv")} {
		editenv(t, p, "drd_trial="+cl.Name, "drd_tries=3", "drd_next=sysimage_000", "drd_watchdog=300")
		testsys.MustContain(t, filepath.Join(filepath.Dir(p), "drd.cfg"), "softdog.soft_margin=300\"")
		unmountIfTemp(t, p, s.Root)
	}
	if st, err = bootenv.Scan(ctx, s.Root); err != nil {
		t.Fatal(err)
	}
	if st.Boot == nil || st.Boot.Seq != seq+1 || st.Activated != cl.Name {
		t.Fatalf("after activate -x trial=true: boot %+v, activated %s", st.Boot, st.Activated)
	}
	if err := m.Activate(ctx, bootenv.ActivateOptions{Deactivate: true}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	if st, err = bootenv.Scan(ctx, s.Root); err != nil {
		t.Fatal(err)
	}
	if st.Boot == nil || st.Boot.Seq != seq+2 || st.Boot.Trial != "" || st.Activated != "sysimage_000" {
		t.Fatalf("after deactivate: boot %+v, activated %s", st.Boot, st.Activated)
	}
	if err := m.Activate(ctx, bootenv.ActivateOptions{Image: "sysimage_000", Trial: true}, report.Discard); err == nil {
		t.Error("a trial of the booted image was accepted")
	}

	// A kexec trial (auto on systemd 252 with kexec_file_load): the
	// clone's kernel is loaded with its GRUB entry's command line plus
	// panic= and drd.trial=; the blocks stay as they were; the clone's
	// record says trial. /proc is a fake one for the kernel's facts.
	proc := t.TempDir()
	for p, data := range map[string]string{
		"cmdline":                        "BOOT_IMAGE=/vmlinuz-6.1.0-28-amd64 root=UUID=" + rootUUID + " ro console=ttyS0\n",
		"sys/kernel/osrelease":           "6.1.0-28-amd64\n",
		"sys/kernel/kexec_load_disabled": "0\n",
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(proc, p)), 0o755)
		if err := os.WriteFile(filepath.Join(proc, p), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/proc/self", filepath.Join(proc, "self")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Root, "boot/config-6.1.0-28-amd64"), []byte("CONFIG_KEXEC=y\nCONFIG_KEXEC_FILE=y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	km := m
	km.ProcDir = proc
	sw := &fakeSwitcher{systemd: 252}
	if err := km.Activate(ctx, bootenv.ActivateOptions{Image: cl.Name, Trial: true, Tries: 2, Reboot: bootenv.SwitchAuto, Switcher: sw}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"root=UUID=" + cloneRootUUID, "console=ttyS0", "panic=10", "drd.trial=" + cl.Name} {
		if !strings.Contains(sw.loaded.Cmdline, want) {
			t.Errorf("kexec command line %q lacks %q", sw.loaded.Cmdline, want)
		}
	}
	if sw.kernel == "" || sw.restarted != bootenv.SwitchKexec {
		t.Errorf("kernel read %q, restarted by %q; want the clone's kernel, kexec", sw.kernel, sw.restarted)
	}
	if st, err = bootenv.Scan(ctx, s.Root); err != nil {
		t.Fatal(err)
	}
	if st.Boot == nil || st.Boot.Seq != seq+2 || st.Boot.Trial != "" || st.Boot.Next != "sysimage_000" {
		t.Fatalf("after a kexec trial the persistent target changed: %+v", st.Boot)
	}
	for _, img := range st.Images {
		if img.Name == cl.Name && img.State != bootenv.Trial {
			t.Errorf("%s is %s after its kexec trial was started, want trial", img.Name, img.State)
		}
	}
	editenv(t, filepath.Join(s.Root, "boot/grub/drdenv"), "drd_next=sysimage_000", "drd_trial=")
	if sw.loaded.InitrdAppend != nil {
		t.Error("a trial without a watchdog got one in its initramfs")
	}

	// A kexec trial with a watchdog: without a softdog module in the
	// clone drd warns and loads the initramfs alone; with the clone's
	// own module (xz, as Debian 13 ships it) the archive appended to the
	// initramfs holds it, uncompressed, and arms it for the deadline.
	var warned []string
	warnings := report.Func(func(f string, a ...any) { warned = append(warned, fmt.Sprintf(f, a...)) })
	sw = &fakeSwitcher{systemd: 252}
	if err := km.Activate(ctx, bootenv.ActivateOptions{Image: cl.Name, Trial: true, Reboot: bootenv.SwitchKexec, Switcher: sw, Force: true, Watchdog: 120}, warnings); err != nil {
		t.Fatal(err)
	}
	if sw.loaded.InitrdAppend != nil || !strings.Contains(strings.Join(warned, "\n"), "lib/modules/6.1.0-28-amd64/modules.dep") {
		t.Errorf("no module in the clone: appended %d bytes; said:\n%s", len(sw.loaded.InitrdAppend), strings.Join(warned, "\n"))
	}
	module := bytes.Repeat([]byte("softdog"), 100)
	core := bytes.Repeat([]byte("watchdog"), 100)
	xzOf := func(b []byte) []byte {
		var out bytes.Buffer
		xw, _ := xz.NewWriter(&out)
		xw.Write(b)
		xw.Close()
		return out.Bytes()
	}
	withRoot := withMounted(t, disk, "/", cl)
	modDir := filepath.Join(withRoot, "lib/modules/6.1.0-28-amd64")
	if err := os.MkdirAll(filepath.Join(modDir, "kernel/drivers/watchdog"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"kernel/drivers/watchdog/softdog.ko.xz":  xzOf(module),
		"kernel/drivers/watchdog/watchdog.ko.xz": xzOf(core),
		"modules.dep":                            []byte("kernel/drivers/watchdog/watchdog.ko.xz:\nkernel/drivers/watchdog/softdog.ko.xz: kernel/drivers/watchdog/watchdog.ko.xz\n"),
	} {
		if err := os.WriteFile(filepath.Join(modDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	unmount(t, withRoot)
	sw = &fakeSwitcher{systemd: 252}
	if err := km.Activate(ctx, bootenv.ActivateOptions{Image: cl.Name, Trial: true, Reboot: bootenv.SwitchKexec, Switcher: sw, Force: true, Watchdog: 120}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	mods := []bootenv.Module{{Name: "watchdog", Data: core}, {Name: "softdog", Data: module}}
	if want, _ := bootenv.InitrdWatchdog(mods, 120); !bytes.Equal(sw.loaded.InitrdAppend, want) {
		t.Errorf("appended %d bytes, want the module's archive (%d bytes)", len(sw.loaded.InitrdAppend), len(want))
	}
	if !strings.Contains(sw.loaded.Cmdline, "softdog.soft_margin=120") {
		t.Errorf("kexec command line %q lacks the watchdog for systemd-modules-load", sw.loaded.Cmdline)
	}
	// On this kernel's facts with kexec_load_disabled=1, auto reboots by
	// the firmware, and the trial is GRUB's.
	os.WriteFile(filepath.Join(proc, "sys/kernel/kexec_load_disabled"), []byte("1\n"), 0o644)
	sw = &fakeSwitcher{systemd: 252}
	var said []string
	if err := km.Activate(ctx, bootenv.ActivateOptions{Image: cl.Name, Trial: true, Reboot: bootenv.SwitchAuto, Switcher: sw, Force: true, Preview: true},
		report.Func(func(f string, a ...any) { said = append(said, fmt.Sprintf(f, a...)) })); err != nil {
		t.Fatal(err)
	}
	if all := strings.Join(said, "\n"); !strings.Contains(all, "Rebooting by firmware when done: the faster switches are refused (not by soft: systemd 252 < 254: soft-reboot needs 254; not by kexec: kernel.kexec_load_disabled=1") || sw.restarted != "" {
		t.Errorf("-p did not say why firmware, or restarted (%q):\n%s", sw.restarted, all)
	}
	if err := km.Activate(ctx, bootenv.ActivateOptions{Image: cl.Name, Trial: true, Tries: 2, Reboot: bootenv.SwitchAuto, Switcher: sw, Force: true}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	if sw.kernel != "" || sw.restarted != bootenv.SwitchFirmware {
		t.Errorf("kexec disabled: kernel read %q, restarted by %q; want none, firmware", sw.kernel, sw.restarted)
	}
	editenv(t, filepath.Join(s.Root, "boot/grub/drdenv"), "drd_next=sysimage_000", "drd_trial="+cl.Name)
	// This GRUB trial got the kexec trial's archive, for its deadline,
	// in the clone's /boot/drd, loaded after the initramfs only on trial.
	cloneBootNow := withMounted(t, disk, "/boot", cl)
	archive, _ := os.ReadFile(filepath.Join(cloneBootNow, "drd/trial-watchdog-6.1.0-28-amd64.cpio"))
	menu, _ := os.ReadFile(filepath.Join(cloneBootNow, "grub/drd.cfg"))
	unmount(t, cloneBootNow)
	if want, _ := bootenv.InitrdWatchdog(mods, bootenv.DefaultWatchdogSeconds); !bytes.Equal(archive, want) {
		t.Errorf("the clone's /boot/drd/trial-watchdog-6.1.0-28-amd64.cpio: %d bytes, want the archive of its module", len(archive))
	}
	if !strings.Contains(string(menu), "initrd /initrd.img-6.1.0-28-amd64 /drd/trial-watchdog-6.1.0-28-amd64.cpio") {
		t.Errorf("the clone's drd.cfg does not load the archive on trial:\n%s", menu)
	}

	// kexec allowed but its load fails: asked for kexec, nothing is
	// written; with auto, the firmware and GRUB's trial. A preview loads
	// nothing.
	os.WriteFile(filepath.Join(proc, "sys/kernel/kexec_load_disabled"), []byte("0\n"), 0o644)
	if err := km.Activate(ctx, bootenv.ActivateOptions{Deactivate: true}, report.Discard); err != nil {
		t.Fatal(err)
	}
	sw = &fakeSwitcher{systemd: 252}
	if err := km.Activate(ctx, bootenv.ActivateOptions{Image: cl.Name, Trial: true, Reboot: bootenv.SwitchKexec, Switcher: sw, Force: true, Preview: true}, report.Discard); err != nil {
		t.Fatal(err)
	}
	if sw.kernel != "" || sw.restarted != "" {
		t.Errorf("a preview loaded %q or restarted by %q", sw.kernel, sw.restarted)
	}
	sw = &fakeSwitcher{systemd: 252, loadErr: errors.New("kexec_file_load: operation not permitted")}
	err = km.Activate(ctx, bootenv.ActivateOptions{Image: cl.Name, Trial: true, Reboot: bootenv.SwitchKexec, Switcher: sw, Force: true}, report.Discard)
	if err == nil || !strings.Contains(err.Error(), "nothing was changed") || sw.restarted != "" {
		t.Errorf("kexec load failed: err %v, restarted %q; want an error saying nothing changed", err, sw.restarted)
	}
	editenv(t, filepath.Join(s.Root, "boot/grub/drdenv"), "drd_next=sysimage_000", "drd_trial=")
	// systemctl kexec fails: the image is not left on trial.
	sw = &fakeSwitcher{systemd: 252, execErr: errors.New("systemctl kexec: exit status 1")}
	if err := km.Activate(ctx, bootenv.ActivateOptions{Image: cl.Name, Trial: true, Reboot: bootenv.SwitchKexec, Switcher: sw, Force: true}, report.Discard); err == nil {
		t.Error("a failed systemctl kexec was not an error")
	}
	if st, err = bootenv.Scan(ctx, s.Root); err != nil {
		t.Fatal(err)
	}
	for _, img := range st.Images {
		if img.Name == cl.Name && img.State == bootenv.Trial {
			t.Errorf("%s left on trial after its kexec did not start", img.Name)
		}
	}
	sw = &fakeSwitcher{systemd: 252, loadErr: errors.New("kexec_file_load: operation not permitted")}
	if err := km.Activate(ctx, bootenv.ActivateOptions{Image: cl.Name, Trial: true, Reboot: bootenv.SwitchAuto, Switcher: sw, Force: true}, report.Discard); err != nil {
		t.Fatal(err)
	}
	if sw.restarted != bootenv.SwitchFirmware {
		t.Errorf("auto after a failed kexec load restarted by %q, want firmware", sw.restarted)
	}
	editenv(t, filepath.Join(s.Root, "boot/grub/drdenv"), "drd_next=sysimage_000", "drd_trial="+cl.Name)

	// A clone without a usable init is refused by every switch, preview
	// too, before anything is written or loaded: its kernel would start
	// a shell that waits on the console.
	if err := km.Activate(ctx, bootenv.ActivateOptions{Deactivate: true}, report.Discard); err != nil {
		t.Fatal(err)
	}
	if st, err = bootenv.Scan(ctx, s.Root); err != nil {
		t.Fatal(err)
	}
	seq = st.Boot.Seq
	cloneRoot := withMounted(t, disk, "/", cl)
	initPath := filepath.Join(cloneRoot, "sbin/init")
	for _, tt := range []struct {
		name, init, want string
	}{
		{"missing", "", "/sbin/init is missing"},
		{"a link out of the image", filepath.Join(s.Root, "lib/systemd/systemd"), "/sbin/init is missing"},
		{"a directory", "/boot", "is a directory"},
	} {
		os.Remove(initPath)
		if tt.init != "" {
			if err := os.Symlink(tt.init, initPath); err != nil {
				t.Fatal(err)
			}
		}
		if out, err := exec.Command("sync").CombinedOutput(); err != nil {
			t.Fatalf("sync: %v\n%s", err, out)
		}
		for _, sw := range []bootenv.Switch{bootenv.SwitchNone, bootenv.SwitchFirmware, bootenv.SwitchKexec, bootenv.SwitchAuto} {
			for _, preview := range []bool{true, false} {
				fs := &fakeSwitcher{systemd: 252}
				err := km.Activate(ctx, bootenv.ActivateOptions{Image: cl.Name, Trial: true, Reboot: sw, Switcher: fs, Force: true, Preview: preview}, report.Discard)
				var ie *bootenv.InitError
				if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), cl.Name) {
					t.Errorf("%s, reboot=%q, preview %v: err %v, want an InitError saying %q", tt.name, sw, preview, err, tt.want)
				}
				if fs.kernel != "" || fs.restarted != "" {
					t.Errorf("%s, reboot=%q: kexec loaded %q, restarted by %q", tt.name, sw, fs.kernel, fs.restarted)
				}
			}
		}
	}
	// init= on the command line names the init drd checks.
	os.Remove(initPath)
	if err := os.Symlink("/lib/systemd/systemd", initPath); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(proc, "cmdline"), []byte("BOOT_IMAGE=/vmlinuz-6.1.0-28-amd64 root=UUID="+rootUUID+" ro init=/bin/nothing\n"), 0o644)
	exec.Command("sync").Run()
	if err := km.Activate(ctx, bootenv.ActivateOptions{Image: cl.Name, Trial: true, Force: true, Preview: true}, report.Discard); err == nil || !strings.Contains(err.Error(), "/bin/nothing is missing") {
		t.Errorf("init=/bin/nothing: err %v, want it missing", err)
	}
	unmount(t, cloneRoot)
	if err := km.Activate(ctx, bootenv.ActivateOptions{Image: cl.Name, Trial: true, Force: true, Preview: true}, report.Discard); err == nil {
		t.Error("init=/bin/nothing: accepted")
	}
	km.ProcDir = m.ProcDir
	if err := km.Activate(ctx, bootenv.ActivateOptions{Image: cl.Name, Trial: true, Force: true, Preview: true}, report.Discard); err != nil {
		t.Errorf("the clone's init is back: %v", err)
	}
	if st, err = bootenv.Scan(ctx, s.Root); err != nil {
		t.Fatal(err)
	}
	if st.Boot.Seq != seq || st.Boot.Trial != "" {
		t.Errorf("refused activations wrote the boot target: %+v (seq was %d)", st.Boot, seq)
	}
}

// fakeSwitcher records what Activate asks of the machine.
type fakeSwitcher struct {
	systemd   int
	loadErr   error
	execErr   error
	loaded    bootenv.KexecPlan
	kernel    string // the kernel's contents, read where KexecLoad was pointed
	restarted bootenv.Switch
}

func (f *fakeSwitcher) SystemdVersion(context.Context) (int, error) { return f.systemd, nil }

func (f *fakeSwitcher) KexecLoad(bootDir string, p bootenv.KexecPlan) error {
	if f.loadErr != nil {
		return f.loadErr
	}
	b, err := os.ReadFile(filepath.Join(bootDir, p.Kernel))
	if err != nil {
		return err
	}
	f.loaded, f.kernel = p, string(b)
	return nil
}

func (f *fakeSwitcher) Restart(_ context.Context, s bootenv.Switch) error {
	f.restarted = s
	return f.execErr
}

// editenv runs grub-editenv list on a block and checks lines in it.
func editenv(t *testing.T, p string, want ...string) {
	t.Helper()
	out, err := exec.Command("grub-editenv", p, "list").CombinedOutput()
	if err != nil {
		t.Fatalf("grub-editenv %s list: %v\n%s", p, err, out)
	}
	for _, w := range want {
		if !strings.Contains("\n"+string(out), "\n"+w+"\n") {
			t.Errorf("grub-editenv %s list has no line %q:\n%s", p, w, out)
		}
	}
}

// withMounted mounts the clone's file system mp at a temporary directory.
func withMounted(t *testing.T, disk, mp string, img *bootenv.Image) string {
	t.Helper()
	for _, f := range img.FileSystems {
		if f.MountPoint == mp {
			dir, err := os.MkdirTemp("", "drd-test-")
			if err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("mount", "-t", f.Type, f.Device, dir).CombinedOutput(); err != nil {
				t.Fatalf("mounting %s: %v\n%s", f.Device, err, out)
			}
			return dir
		}
	}
	t.Fatalf("%s has no %s", img.Name, mp)
	return ""
}

func unmount(t *testing.T, dir string) {
	t.Helper()
	if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
		t.Errorf("umount %s: %v\n%s", dir, err, out)
	}
	os.Remove(dir)
}

func unmountIfTemp(t *testing.T, block, root string) {
	if !strings.HasPrefix(block, root) {
		unmount(t, filepath.Dir(filepath.Dir(block)))
	}
}

// fileSum is the SHA-256 of a file, "" if it cannot be read.
func fileSum(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Logf("%s: %v", p, err)
		return ""
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// debianBoot gives the test system s what Debian's GRUB and a kernel leave
// on /boot (a kernel, its initrd, a grub.cfg naming the file systems by
// UUID, a grub.d script) and returns the UUIDs of its /boot and /.
func debianBoot(t *testing.T, s *testsys.System) (bootUUID, rootUUID string) {
	t.Helper()
	bootUUID = testsys.UUID(t, s.Boot)
	rootUUID = testsys.UUID(t, s.RootDev)
	for name, text := range map[string]string{
		"boot/vmlinuz-6.1.0-28-amd64":    "kernel",
		"boot/initrd.img-6.1.0-28-amd64": "initrd",
		"boot/grub/grub.cfg": "### BEGIN /etc/grub.d/00_header ###\nset default=0\n### END /etc/grub.d/00_header ###\n" +
			"menuentry 'Debian' {\n\tsearch --no-floppy --fs-uuid --set=root " + bootUUID + "\n\tlinux /vmlinuz-6.1.0-28-amd64 root=UUID=" + rootUUID + " ro\n}\n",
		"etc/grub.d/00_header": "#!/bin/sh\n",
	} {
		p := filepath.Join(s.Root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return bootUUID, rootUUID
}

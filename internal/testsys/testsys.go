// Package testsys builds a small but real system image on loop-backed
// image files, for drd's root tests and its demo: a GPT disk with an ESP
// (FAT32, left unmounted: not every kernel has vfat), /boot and /, and a
// second disk with /home, a shared file system. It uses the system's own
// tools (mkfs, mtools), not drd's code, so that it can judge that code.
package testsys

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/images"
)

// System is a source system image built for a test, mounted at Root.
type System struct {
	Root    string // where its root file system is mounted
	Disk    string // the system disk's loop device
	Home    string // the /home disk's loop device
	ESP     string // the ESP partition (not mounted)
	Boot    string // the /boot partition
	RootDev string

	Files  []string // the image files
	rootFS string
	mounts []string
	loops  []string
}

// Options of Build.
type Options struct {
	DiskSize int64  // bytes of the system disk (default 1 GiB)
	HomeSize int64  // bytes of the /home disk (default 128 MiB)
	RootFS   string // type of / : ext4 (default) or xfs
}

// Build makes the image files in dir, partitions and formats them, mounts
// them at dir/root and writes an fstab naming each by UUID. Close undoes
// everything it did, also after a failure half-way.
func Build(ctx context.Context, dir string, opt Options) (s *System, err error) {
	if opt.DiskSize == 0 {
		opt.DiskSize = 1 << 30
	}
	if opt.HomeSize == 0 {
		opt.HomeSize = 128 << 20
	}
	if opt.RootFS == "" {
		opt.RootFS = "ext4"
	}
	s = &System{Root: filepath.Join(dir, "root")}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()
	disk := filepath.Join(dir, "system.img")
	home := filepath.Join(dir, "home.img")
	for _, f := range []struct {
		path string
		size int64
	}{{disk, opt.DiskSize}, {home, opt.HomeSize}} {
		if err := makeSparse(f.path, f.size); err != nil {
			return s, err
		}
		s.Files = append(s.Files, f.path)
	}
	parts, err := images.WriteGPT(disk, []images.Part{
		{Name: "bios", Type: images.BIOSBoot, Size: 1 << 20},
		{Name: "esp", Type: images.ESP, Size: 64 << 20},
		{Name: "boot", Type: images.LinuxFS, Size: 128 << 20},
		{Name: "root", Type: images.LinuxFS},
	})
	if err != nil {
		return s, err
	}
	if s.Disk, err = s.attach(disk); err != nil {
		return s, err
	}
	if err := images.ShowPartitions(s.Disk, parts); err != nil {
		return s, err
	}
	if s.Home, err = s.attach(home); err != nil {
		return s, err
	}
	s.ESP = images.PartitionPath(s.Disk, 2)
	s.Boot = images.PartitionPath(s.Disk, 3)
	s.RootDev = images.PartitionPath(s.Disk, 4)
	for _, c := range [][]string{
		{"mkfs.vfat", "-F", "32", "-n", "ESP", s.ESP},
		{"mkfs.ext4", "-q", "-L", "boot", s.Boot},
		mkfs(opt.RootFS, "root", s.RootDev),
		{"mkfs.ext4", "-q", "-L", "home", s.Home},
	} {
		if err := run(ctx, c...); err != nil {
			return s, err
		}
	}
	for _, m := range []struct{ dev, at, typ string }{{s.RootDev, "/", opt.RootFS}, {s.Boot, "/boot", "ext4"}, {s.Home, "/home", "ext4"}} {
		at := filepath.Join(s.Root, m.at)
		if err := os.MkdirAll(at, 0o755); err != nil {
			return s, err
		}
		if err := unix.Mount(m.dev, at, m.typ, 0, ""); err != nil {
			return s, fmt.Errorf("mounting %s at %s: %w", m.dev, at, err)
		}
		s.mounts = append(s.mounts, at)
	}
	if err := os.MkdirAll(filepath.Join(s.Root, "boot/efi"), 0o755); err != nil {
		return s, err
	}
	s.rootFS = opt.RootFS
	if err := s.writeInit(); err != nil {
		return s, err
	}
	return s, s.writeFstab(ctx)
}

// writeInit gives the system an init as a merged-/usr Debian lays it out
// (drd activate refuses an image without one): /sbin and /lib links to
// usr/sbin and usr/lib, /usr/sbin/init a link to ../lib/systemd/systemd,
// a small executable here. (Links, not directories, at the top: tests
// that unpack a debootstrap tar over the root replace them.)
func (s *System) writeInit() error {
	for _, d := range []string{"usr/sbin", "usr/lib/systemd"} {
		if err := os.MkdirAll(filepath.Join(s.Root, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(s.Root, "usr/lib/systemd/systemd"), []byte("#!/bin/sh\nexec sleep infinity\n"), 0o755); err != nil {
		return err
	}
	for link, to := range map[string]string{"usr/sbin/init": "../lib/systemd/systemd", "sbin": "usr/sbin", "lib": "usr/lib"} {
		if err := os.Symlink(to, filepath.Join(s.Root, link)); err != nil {
			return err
		}
	}
	return nil
}

func mkfs(typ, label, dev string) []string {
	if typ == "xfs" {
		return []string{"mkfs.xfs", "-q", "-f", "-L", label, dev}
	}
	return []string{"mkfs." + typ, "-q", "-L", label, dev}
}

func (s *System) writeFstab(ctx context.Context) error {
	var b strings.Builder
	b.WriteString("# /etc/fstab of a drd test system\n")
	for _, e := range []struct{ dev, at, typ, opts string }{
		{s.RootDev, "/", s.rootFS, "defaults"},
		{s.Boot, "/boot", "ext4", "defaults"},
		{s.ESP, "/boot/efi", "vfat", "noauto,umask=0077"},
		{s.Home, "/home", "ext4", "defaults"},
	} {
		uuid, err := output(ctx, "blkid", "-p", "-s", "UUID", "-o", "value", e.dev)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "UUID=%s\t%s\t%s\t%s\t0\t1\n", uuid, e.at, e.typ, e.opts)
	}
	b.WriteString("tmpfs\t/tmp\ttmpfs\tdefaults\t0\t0\n")
	if err := os.MkdirAll(filepath.Join(s.Root, "etc"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.Root, "etc/fstab"), []byte(b.String()), 0o644)
}

// PutESP copies a local file into the ESP with mtools.
func (s *System) PutESP(ctx context.Context, local, dest string) error {
	var dirs []string
	for d := filepath.Dir(dest); d != "/"; d = filepath.Dir(d) {
		dirs = append([]string{d}, dirs...)
	}
	for _, d := range dirs {
		run(ctx, "mmd", "-D", "s", "-i", s.ESP, "::"+d) // fails if it exists: fine
	}
	return run(ctx, "mcopy", "-o", "-i", s.ESP, local, "::"+dest)
}

// Close unmounts and detaches everything Build made, newest first.
func (s *System) Close() error {
	var errs []error
	for i := len(s.mounts) - 1; i >= 0; i-- {
		if err := unix.Unmount(s.mounts[i], 0); err != nil {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", s.mounts[i], err))
		}
	}
	s.mounts = nil
	for i := len(s.loops) - 1; i >= 0; i-- {
		if err := images.DetachLoop(s.loops[i]); err != nil {
			errs = append(errs, err)
		}
	}
	s.loops = nil
	return errors.Join(errs...)
}

func (s *System) attach(file string) (string, error) {
	dev, err := images.AttachLoop(file, false)
	if err != nil {
		return "", err
	}
	s.loops = append(s.loops, dev)
	return dev, nil
}

func makeSparse(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Truncate(size)
}

func run(ctx context.Context, argv ...string) error {
	_, err := output(ctx, argv...)
	return err
}

func output(ctx context.Context, argv ...string) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1", "LC_ALL=C") // mtools on a partition device
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		return "", fmt.Errorf("running %q: %w\n%s", strings.Join(argv, " "), err, stderr)
	}
	return strings.TrimSpace(string(out)), nil
}

// ForTest builds a System for a root test in t's temporary directory and
// takes it down when the test ends; it skips the test when not root.
func ForTest(t testing.TB, opt Options) *System {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: loop devices and mounts")
	}
	s, err := Build(context.Background(), t.TempDir(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// UUID is the file-system UUID blkid reads from dev itself (no cache).
func UUID(t testing.TB, dev string) string {
	t.Helper()
	out, err := output(context.Background(), "blkid", "-p", "-o", "value", "-s", "UUID", dev)
	if err != nil {
		t.Fatalf("blkid %s: %v", dev, err)
	}
	return out
}

// MustContain fails t unless the file at path contains s.
func MustContain(t testing.TB, path, s string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), s) {
		t.Errorf("%s does not contain %q (%v):\n%s", path, s, err, b)
	}
}

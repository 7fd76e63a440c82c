// Package treetest helps root tests that copy and compare trees: it makes
// ext4 file systems in image files on loop devices (never on the machine's
// own disks) and builds trees holding every kind of entry a copy must keep.
package treetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// NeedRoot skips the test unless it runs as root with the tools it needs.
func NeedRoot(t testing.TB, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (loop devices, mount, device nodes, trusted.* attributes)")
	}
	for _, tool := range append([]string{"mkfs.ext4", "losetup", "mount", "umount"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
}

// Ext4 makes an ext4 file system of size bytes in a sparse image file in
// t.TempDir(), attaches it to a loop device and mounts it (noatime unless
// options say otherwise; extra mount options are passed on). It returns the
// mount point; the test's cleanup unmounts and detaches, also on failure.
func Ext4(t testing.TB, size int64, options ...string) string {
	t.Helper()
	dir := t.TempDir()
	img := filepath.Join(dir, "fs.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		t.Fatal(err)
	}
	f.Close()
	// 4 KiB blocks and 256-byte inodes (nanosecond times, attributes in the
	// inode) whatever the size; no lazy init: the kernel thread zeroing
	// inode tables would compete with what the test measures.
	run(t, "mkfs.ext4", "-q", "-F", "-b", "4096", "-I", "256", "-E", "lazy_itable_init=0,lazy_journal_init=0", img)
	dev := strings.TrimSpace(run(t, "losetup", "--find", "--show", img))
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := "noatime"
	if len(options) > 0 {
		opts = strings.Join(options, ",")
	}
	run(t, "mount", "-t", "ext4", "-o", opts, dev, mnt)
	t.Cleanup(func() { Unmount(t, mnt) })
	return mnt
}

// Unmount unmounts dir if it is mounted (lazily if it is busy).
func Unmount(t testing.TB, dir string) {
	t.Helper()
	if err := exec.Command("umount", dir).Run(); err != nil {
		if exec.Command("mountpoint", "-q", dir).Run() == nil {
			if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
				t.Errorf("unmounting %s: %v\n%s", dir, err, out)
			}
		}
	}
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("running %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Run runs a command for a test and fails the test if it fails.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	return run(t, name, args...)
}

func runErr(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("running %s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

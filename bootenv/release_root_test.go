package bootenv_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/testsys"
)

// fsOnLoop makes an ext4 file system in an image file on a loop device,
// with what fill puts into it, and returns the device and its UUID.
func fsOnLoop(t *testing.T, fill func(top string)) (dev, uuid string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (loop devices, mounts)")
	}
	file := filepath.Join(t.TempDir(), "fs.img")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(file, 32<<20); err != nil {
		t.Fatal(err)
	}
	dev, err := images.AttachLoop(file, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { images.DetachLoop(dev) })
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", dev).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4 %s: %v\n%s", dev, err, out)
	}
	top := t.TempDir()
	if err := unix.Mount(dev, top, "ext4", 0, ""); err != nil {
		t.Fatal(err)
	}
	fill(top)
	if err := unix.Unmount(top, 0); err != nil {
		t.Fatal(err)
	}
	return dev, testsys.UUID(t, dev)
}

// mountOf is where dev is mounted now ("" for nowhere).
func mountOf(t *testing.T, dev string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		t.Fatal(err)
	}
	mounts, err := bootenv.ReadMountinfo("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, mi := range mounts {
		if uint64(mi.Major) == uint64(unix.Major(st.Rdev)) && uint64(mi.Minor) == uint64(unix.Minor(st.Rdev)) {
			return mi.MountPoint
		}
	}
	return ""
}

// TestReadImageFileReportsABusyUnmount: ReadImageFile mounts the image's
// root, reads a file and unmounts it; when a process still uses that file
// system, the unmount fails (EBUSY) and the call says so, naming the
// device and where it stays mounted, instead of returning as if all were
// well with a mount left behind.
func TestReadImageFileReportsABusyUnmount(t *testing.T) {
	dev, uuid := fsOnLoop(t, func(top string) {
		os.MkdirAll(filepath.Join(top, "var/opt/drd"), 0o755)
		if err := syscall.Mkfifo(filepath.Join(top, "var/opt/drd/drd.log"), 0o600); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(top, "held"), nil, 0o600)
	})
	img := &bootenv.Image{Record: bootenv.Record{Name: "sysimage_042",
		FileSystems: []bootenv.FileSystem{{MountPoint: "/", UUID: uuid, Type: "ext4"}}}}
	m := bootenv.Real(t.TempDir())

	// While ReadImageFile waits for a writer of its log (a FIFO), open a
	// file in its mount and keep it open, then let the read end.
	var held *os.File
	var at string
	done := make(chan error, 1)
	go func() {
		deadline := time.Now().Add(20 * time.Second)
		for at = ""; at == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			at = mountOf(t, dev)
		}
		if at == "" {
			done <- errors.New("ReadImageFile did not mount " + dev)
			return
		}
		var err error
		if held, err = os.Open(filepath.Join(at, "held")); err != nil {
			done <- err
			return
		}
		w, err := os.OpenFile(filepath.Join(at, "var/opt/drd/drd.log"), os.O_WRONLY, 0)
		if err == nil {
			_, err = w.WriteString("log line\n")
			w.Close()
		}
		done <- err
	}()
	t.Cleanup(func() {
		if held != nil {
			held.Close()
		}
		if p := mountOf(t, dev); p != "" {
			unix.Unmount(p, unix.MNT_DETACH)
			os.Remove(p)
		}
	})
	data, err := m.ReadImageFile(img, bootenv.DataDir+"/drd.log")
	if werr := <-done; werr != nil {
		t.Fatal(werr)
	}
	if string(data) != "log line\n" {
		t.Errorf("ReadImageFile read %q, want the line written", data)
	}
	if !errors.Is(err, unix.EBUSY) {
		t.Fatalf("ReadImageFile with its file system busy = %v, want EBUSY", err)
	}
	for _, want := range []string{dev, at, "sysimage_042", "fuser"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not name %q", err, want)
		}
	}
}

// TestRescueScanReportsAnUnreadableFileSystem: in rescue mode (STAGEISL),
// a file system that cannot be read (damaged) is a problem of the scan,
// and the images on the others are still found.
func TestRescueScanReportsAnUnreadableFileSystem(t *testing.T) {
	rec := &bootenv.Record{Name: "sysimage_007", ID: bootenv.NewID(), System: "sys", State: bootenv.Complete}
	good, _ := fsOnLoop(t, func(top string) {
		if err := bootenv.WriteRecord(top, rec); err != nil {
			t.Fatal(err)
		}
	})
	bad, _ := fsOnLoop(t, func(string) {})
	damage(t, bad)
	// A sysfs that shows these two devices only: the machine's own
	// disks and other tests' loop devices are not this test's.
	sys := t.TempDir()
	os.MkdirAll(filepath.Join(sys, "class/block"), 0o755)
	for _, dev := range []string{good, bad} {
		if err := os.Symlink(filepath.Join("/sys/class/block", filepath.Base(dev)), filepath.Join(sys, "class/block", filepath.Base(dev))); err != nil {
			t.Fatal(err)
		}
	}
	m := bootenv.Machine{Root: t.TempDir(), SysDir: sys, ProcDir: "/proc"}
	st, err := m.RescueScan(context.Background())
	if err != nil {
		t.Fatalf("RescueScan with one file system damaged: %v", err)
	}
	if len(st.Images) != 1 || st.Images[0].ID != rec.ID {
		t.Errorf("RescueScan found %d images, want %s", len(st.Images), rec.Name)
	}
	if len(st.Problems) != 1 || st.Problems[0].Kind != bootenv.Unreadable || st.Problems[0].Device != bad ||
		!strings.Contains(st.Problems[0].Action, "fsck -n "+bad) {
		t.Errorf("problems %+v, want %s unreadable, with what to do", st.Problems, bad)
	}
}

// damage overwrites the group descriptors of the ext4 file system on dev
// (from 2 KiB, past the superblock, to 64 KiB: 1 KiB or 4 KiB blocks
// alike): the superblock still says ext4, the kernel refuses to mount it.
func damage(t *testing.T, dev string) {
	t.Helper()
	f, err := os.OpenFile(dev, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xa5}, 62<<10), 2<<10); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenBootFilesReleaseReportsABusyUnmount: the release OpenBootFiles
// returns says when the /boot it mounted stays mounted (a kernel file
// still open: STAGEISL's boot closes them first), and succeeds once
// nothing uses it.
func TestOpenBootFilesReleaseReportsABusyUnmount(t *testing.T) {
	dev, uuid := fsOnLoop(t, func(top string) {
		os.MkdirAll(filepath.Join(top, "boot"), 0o755)
		os.WriteFile(filepath.Join(top, "boot/vmlinuz-6.1.0-28-amd64"), []byte("kernel"), 0o644)
	})
	img := &bootenv.Image{Record: bootenv.Record{Name: "sysimage_043",
		FileSystems: []bootenv.FileSystem{{MountPoint: "/", UUID: uuid, Type: "ext4"}}}}
	m := bootenv.Real(t.TempDir())
	bf, release, err := m.OpenBootFiles(img)
	if err != nil {
		t.Fatal(err)
	}
	at := mountOf(t, dev)
	t.Cleanup(func() {
		if p := mountOf(t, dev); p != "" {
			unix.Unmount(p, unix.MNT_DETACH)
			os.Remove(p)
		}
	})
	kernel, err := os.Open(bf.Kernel)
	if err != nil {
		t.Fatal(err)
	}
	err = release()
	if !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), dev) || !strings.Contains(err.Error(), at) {
		t.Errorf("release with the kernel open = %v, want EBUSY naming %s and %s", err, dev, at)
	}
	kernel.Close()
	if err := release(); err != nil {
		t.Errorf("release once the kernel is closed: %v", err)
	}
	if p := mountOf(t, dev); p != "" {
		t.Errorf("%s is still mounted at %s", dev, p)
	}
	if _, err := os.Stat(at); !os.IsNotExist(err) {
		t.Errorf("the mount point %s is left: %v", at, err)
	}
}

package images

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (loop devices)")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skip("no /dev/loop-control")
	}
}

// attach attaches img to a loop device and detaches it when the test
// ends, even on failure.
func attach(t *testing.T, img string, readOnly bool) string {
	t.Helper()
	dev, err := AttachLoop(img, readOnly)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := DetachLoop(dev); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return dev
}

// TestLoopPartitions goes the whole way on a real loop device: WriteGPT,
// AttachLoop, ShowPartitions, mkfs.ext4 on a partition, Probe against
// blkid, sysfs against the layout, sgdisk on the device, DetachLoop.
func TestLoopPartitions(t *testing.T) {
	requireRoot(t)
	img := sparseFile(t, t.TempDir(), "disk.img", 96*mib)
	parts, err := WriteGPT(img, []Part{
		{Name: "esp", Type: ESP, Size: 34 * mib},
		{Name: "root", Type: LinuxFS},
		{Name: "swap", Type: Swap, Size: 8 * mib},
	})
	if err != nil {
		t.Fatal(err)
	}
	dev := attach(t, img, false)
	if got := LoopBackingFile(sysRoot, dev); got != img {
		t.Errorf("LoopBackingFile(%s) = %q, want %q", dev, got, img)
	}
	if loops, err := LoopsOf(sysRoot, img); err != nil || len(loops) != 1 || loops[0] != dev {
		t.Errorf("LoopsOf(%s) = %v, %v; want [%s]", img, loops, err, dev)
	}
	if err := ShowPartitions(dev, parts); err != nil {
		t.Fatal(err)
	}
	// a second call finds them in place and changes nothing
	if err := ShowPartitions(dev, parts); err != nil {
		t.Fatal(err)
	}
	kernel, err := Partitions(sysRoot, dev)
	if err != nil {
		t.Fatal(err)
	}
	if !samePartitions(kernel, parts) {
		t.Fatalf("kernel shows %+v, wrote %+v", kernel, parts)
	}
	for _, k := range kernel {
		if k.Disk != filepath.Base(dev) || k.Path != PartitionPath(dev, k.Partition) {
			t.Errorf("partition %+v: want disk %s, path %s", k, filepath.Base(dev), PartitionPath(dev, k.Partition))
		}
		byPath, err := DeviceByPath(sysRoot, k.Path)
		if err != nil || byPath.Name != k.Name {
			t.Errorf("DeviceByPath(%s) = %+v, %v", k.Path, byPath, err)
		}
	}

	root := PartitionPath(dev, 2)
	run(t, "mkfs.ext4", "-q", "-F", "-L", "sysimage_001", root)
	run(t, "mkswap", "-L", "swap0", PartitionPath(dev, 3))
	checkAgainstBlkid(t, root, "ext4")
	checkAgainstBlkid(t, PartitionPath(dev, 3), "swap")
	checkSgdisk(t, dev, parts)

	esp := PartitionPath(dev, 1)
	if err := MakeFAT32(esp, 0, "EFI", 0x12345678); err != nil {
		t.Fatal(err)
	}
	checkAgainstBlkid(t, esp, "vfat")
	if err := WriteFATFile(esp, "/EFI/BOOT/BOOTX64.EFI", []byte("MZ boot")); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFATFile(esp, "/EFI/BOOT/BOOTX64.EFI"); err != nil || string(b) != "MZ boot" {
		t.Errorf("ReadFATFile on %s = %q, %v", esp, b, err)
	}
	fsckClean(t, esp)

	if err := DetachLoop(dev); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("%s still exists after DetachLoop: %v", root, err)
	}
	if f := LoopBackingFile(sysRoot, dev); f != "" {
		t.Errorf("%s still attached to %s", dev, f)
	}
	if err := DetachLoop(dev); err != nil {
		t.Errorf("second DetachLoop: %v", err)
	}
}

// TestAttachLoopReadOnly: a read-only loop device refuses writes.
func TestAttachLoopReadOnly(t *testing.T) {
	requireRoot(t)
	img := sparseFile(t, t.TempDir(), "ro.img", 4*mib)
	dev := attach(t, img, true)
	d, err := DeviceByPath(sysRoot, dev)
	if err != nil {
		t.Fatal(err)
	}
	if !d.ReadOnly || d.Size != 4*mib || d.BackingFile != img {
		t.Errorf("device %+v: want read-only, 4 MiB, backed by %s", d, img)
	}
	f, err := os.OpenFile(dev, os.O_WRONLY, 0)
	if err != nil {
		return // refused at open: fine
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{1}, 0); err == nil {
		t.Errorf("wrote to read-only %s", dev)
	}
}

// TestAttachedByDrd: a loop device AttachLoop attached is drd's; one
// losetup attached to the same file is not, and neither is a device that
// is not attached.
func TestAttachedByDrd(t *testing.T) {
	requireRoot(t)
	img := sparseFile(t, t.TempDir(), "mark.img", 4*mib)
	ours := attach(t, img, true)
	if !AttachedByDrd(ours) {
		t.Errorf("%s, attached by AttachLoop, is not drd's", ours)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).Output()
	if err != nil {
		t.Skipf("losetup: %v", err)
	}
	theirs := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if LoopBackingFile(sysRoot, theirs) == img { // still ours: never detach a loop another test took since
			exec.Command("losetup", "-d", theirs).Run()
		}
	})
	if AttachedByDrd(theirs) {
		t.Errorf("%s, attached by losetup, counts as drd's", theirs)
	}
	if AttachedByDrd(filepath.Join(t.TempDir(), "nothing")) {
		t.Error("a path that is no device counts as drd's loop")
	}
}

// TestDetachLoopHeldBriefly: a loop device another program holds open
// for a moment (udev's probe) is detached once it lets go, without an
// error.
func TestDetachLoopHeldBriefly(t *testing.T) {
	requireRoot(t)
	img := sparseFile(t, t.TempDir(), "held.img", 4*mib)
	dev, err := AttachLoop(img, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if LoopBackingFile(sysRoot, dev) == img {
			DetachLoop(dev)
		}
	})
	f, err := os.Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(100*time.Millisecond, func() { f.Close() })
	if err := DetachLoop(dev); err != nil {
		t.Errorf("DetachLoop of a device held for 100ms: %v", err)
	}
	if got := LoopBackingFile(sysRoot, dev); got == img {
		t.Errorf("%s is still attached to %s", dev, img)
	}
}

func TestIsDrdMark(t *testing.T) {
	for name, want := range map[string]bool{"drd:/srv/c.img\x00\x00": true, "drd:": true, "": false, "/srv/drd:x": false, "drd/x": false, "\x00drd:": false} {
		if got := isDrdMark([]byte(name)); got != want {
			t.Errorf("isDrdMark(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestAttachLoopConcurrent attaches several files at once: each must get
// its own device even when they race for the same free one.
func TestAttachLoopConcurrent(t *testing.T) {
	requireRoot(t)
	const n = 4
	dir := t.TempDir()
	type result struct {
		img, dev string
		err      error
	}
	ch := make(chan result)
	for i := 0; i < n; i++ {
		img := sparseFile(t, dir, "c"+strings.Repeat("x", i)+".img", mib)
		go func() {
			dev, err := AttachLoop(img, false)
			ch <- result{img, dev, err}
		}()
	}
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		r := <-ch
		if r.err != nil {
			t.Error(r.err)
			continue
		}
		t.Cleanup(func() {
			if err := DetachLoop(r.dev); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		})
		if seen[r.dev] {
			t.Errorf("%s handed out twice", r.dev)
		}
		seen[r.dev] = true
		if got := LoopBackingFile(sysRoot, r.dev); got != r.img {
			t.Errorf("%s backed by %q, want %q", r.dev, got, r.img)
		}
	}
}

func TestPartitionPath(t *testing.T) {
	tests := []struct {
		dev  string
		n    int
		want string
	}{
		{"/dev/sda", 1, "/dev/sda1"},
		{"/dev/vdb", 12, "/dev/vdb12"},
		{"/dev/nvme0n1", 1, "/dev/nvme0n1p1"},
		{"/dev/loop0", 3, "/dev/loop0p3"},
		{"/dev/mmcblk0", 2, "/dev/mmcblk0p2"},
		{"/dev/md127", 1, "/dev/md127p1"},
		{"xvda", 2, "xvda2"},
	}
	for _, tt := range tests {
		if got := PartitionPath(tt.dev, tt.n); got != tt.want {
			t.Errorf("PartitionPath(%q, %d) = %q, want %q", tt.dev, tt.n, got, tt.want)
		}
	}
}

// TestInUseLoop mounts a partition of a loop device and checks that InUse
// reports it and that WriteGPT, Wipe, HidePartitions and DetachLoop refuse
// to touch the disk until it is unmounted.
func TestInUseLoop(t *testing.T) {
	requireRoot(t)
	dev, parts := onePartitionLoop(t, "busy.img", 32*mib)
	p1 := PartitionPath(dev, 1)
	run(t, "mkfs.ext4", "-q", "-F", p1)
	mnt := t.TempDir()
	if err := unix.Mount(p1, mnt, "ext4", 0, ""); err != nil {
		t.Fatal(err)
	}
	mounted := true
	unmount := func() {
		if mounted {
			if err := unix.Unmount(mnt, 0); err != nil {
				t.Errorf("unmounting %s: %v", mnt, err)
			}
			mounted = false
		}
	}
	t.Cleanup(unmount)

	d, err := DeviceByPath(sysRoot, dev)
	if err != nil {
		t.Fatal(err)
	}
	reasons, err := InUse(sysRoot, "/proc", d)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Base(p1) + " is mounted on " + mnt + " (ext4)"
	if len(reasons) != 1 || reasons[0] != want {
		t.Errorf("InUse = %q, want [%q]", reasons, want)
	}
	if _, err := WriteGPT(dev, parts); err == nil {
		t.Errorf("WriteGPT on a disk with a mounted partition succeeded")
	}
	if err := Wipe(dev); err == nil {
		t.Errorf("Wipe on a disk with a mounted partition succeeded")
	}
	if err := HidePartitions(dev); err == nil || !strings.Contains(err.Error(), "mounted") {
		t.Errorf("HidePartitions with a mounted partition: %v", err)
	}
	unmount()
	if reasons, err := InUse(sysRoot, "/proc", d); err != nil || len(reasons) != 0 {
		t.Errorf("InUse after unmount = %q, %v", reasons, err)
	}
	if err := Wipe(dev); err != nil {
		t.Errorf("Wipe after unmount: %v", err)
	}
}

// TestProbeLVM makes an LVM physical volume with pvcreate (which needs a
// block device, not a file) and compares Probe with blkid.
func TestProbeLVM(t *testing.T) {
	requireRoot(t)
	img := sparseFile(t, t.TempDir(), "pv.img", 16*mib)
	dev := attach(t, img, false)
	t.Setenv("LVM_SUPPRESS_FD_WARNINGS", "1")
	run(t, "pvcreate", "-ff", "-y", "-q", dev)
	checkAgainstBlkid(t, dev, "LVM2_member")
	checkAgainstBlkid(t, img, "LVM2_member")
}

// TestShowPartitionsRelayout writes a second layout on the loop device
// itself: ShowPartitions must drop the stale partitions and add the new.
func TestShowPartitionsRelayout(t *testing.T) {
	requireRoot(t)
	img := sparseFile(t, t.TempDir(), "relayout.img", 64*mib)
	dev := attach(t, img, false)
	first, err := WriteGPT(dev, []Part{{Type: ESP, Size: 8 * mib}, {Type: LinuxFS, Size: 8 * mib}, {Type: Swap}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ShowPartitions(dev, first); err != nil {
		t.Fatal(err)
	}
	if err := Wipe(dev); err != nil {
		t.Fatal(err)
	}
	second, err := WriteGPT(dev, []Part{{Number: 2, Type: LinuxLVM}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ShowPartitions(dev, second); err != nil {
		t.Fatal(err)
	}
	kernel, err := Partitions(sysRoot, dev)
	if err != nil {
		t.Fatal(err)
	}
	if len(kernel) != 1 || kernel[0].Partition != 2 || kernel[0].Start != mib || kernel[0].Size != 62*mib {
		t.Errorf("kernel shows %+v, want only partition 2 of 62 MiB at 1 MiB", kernel)
	}
	for _, n := range []int{1, 3} {
		if _, err := os.Stat(PartitionPath(dev, n)); !os.IsNotExist(err) {
			t.Errorf("stale %s: %v", PartitionPath(dev, n), err)
		}
	}
	read, err := ReadGPT(dev)
	if err != nil || len(read) != 1 || read[0] != second[0] {
		t.Errorf("ReadGPT(%s) = %+v, %v; want %+v", dev, read, err, second)
	}
	if err := HidePartitions(dev); err != nil {
		t.Fatal(err)
	}
	if kernel, _ := Partitions(sysRoot, dev); len(kernel) != 0 {
		t.Errorf("after HidePartitions the kernel shows %+v", kernel)
	}
}

// TestDetachLoopHeldPartition detaches a loop device while one of its
// partitions is held (open in another program, mounted): DetachLoop says
// the device is still open, and once the holder lets go the kernel has
// detached it, rather than leaving it attached to the file for good.
func TestDetachLoopHeldPartition(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name string
		hold func(t *testing.T, part string) (release func())
	}{
		{"open", func(t *testing.T, part string) func() {
			f, err := os.Open(part)
			if err != nil {
				t.Fatal(err)
			}
			return func() { f.Close() }
		}},
		{"mounted", func(t *testing.T, part string) func() {
			run(t, "mkfs.ext4", "-q", "-F", part)
			mnt := t.TempDir()
			if err := unix.Mount(part, mnt, "ext4", 0, ""); err != nil {
				t.Fatal(err)
			}
			mounted := true
			t.Cleanup(func() {
				if mounted {
					unix.Unmount(mnt, 0)
				}
			})
			return func() {
				if err := unix.Unmount(mnt, 0); err != nil {
					t.Errorf("unmounting %s: %v", mnt, err)
				}
				mounted = false
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := sparseFile(t, t.TempDir(), "disk.img", 16*mib)
			parts, err := WriteGPT(img, []Part{{Name: "root", Type: LinuxFS}})
			if err != nil {
				t.Fatal(err)
			}
			dev, err := AttachLoop(img, false)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				loops, _ := LoopsOf(sysRoot, img)
				for _, l := range loops {
					if err := DetachLoop(l); err != nil {
						t.Logf("cleanup: %v", err)
					}
				}
			})
			if err := ShowPartitions(dev, parts); err != nil {
				t.Fatal(err)
			}
			part := PartitionPath(dev, 1)
			release := tc.hold(t, part)
			err = DetachLoop(dev)
			release()
			if err == nil || !strings.Contains(err.Error(), "detaches the device when it is closed") {
				t.Errorf("DetachLoop(%s) with %s held: %v, want an error saying the kernel detaches it when it is closed", dev, part, err)
			}
			t.Logf("DetachLoop: %v", err)
			var loops []string
			for i := 0; i < 20; i++ {
				if loops, _ = LoopsOf(sysRoot, img); len(loops) == 0 {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if len(loops) != 0 {
				out, _ := exec.Command("losetup", "-j", img).CombinedOutput()
				t.Errorf("%s stays attached after its holder let go:\n%s", img, out)
			}
		})
	}
}

// TestHidePartitionsMomentarilyBusy: a partition held open for a moment
// (as udev's or another program's probe holds a new one: on a shared
// machine, another drd's scan) fails neither HidePartitions nor the
// removal of the old partitions by ShowPartitions: each asks again until
// the holder lets go.
func TestHidePartitionsMomentarilyBusy(t *testing.T) {
	requireRoot(t)
	dev, parts := onePartitionLoop(t, "probed.img", 16*mib)
	part := PartitionPath(dev, 1)
	holdFor := func(d time.Duration) <-chan struct{} {
		f, err := os.Open(part)
		if err != nil {
			t.Fatal(err)
		}
		closed := make(chan struct{})
		go func() {
			time.Sleep(d)
			f.Close()
			close(closed)
		}()
		return closed
	}
	closed := holdFor(200 * time.Millisecond)
	err := HidePartitions(dev)
	<-closed
	if err != nil {
		t.Fatalf("HidePartitions(%s) with %s open for 200 ms: %v", dev, part, err)
	}
	if kernel, _ := Partitions(sysRoot, dev); len(kernel) != 0 {
		t.Errorf("after HidePartitions the kernel shows %+v", kernel)
	}

	if err := ShowPartitions(dev, parts); err != nil {
		t.Fatal(err)
	}
	other := []Part{{Number: 2, Type: LinuxFS, Start: 2 * mib, Size: 4 * mib}}
	closed = holdFor(200 * time.Millisecond)
	err = ShowPartitions(dev, other)
	<-closed
	if err != nil {
		t.Fatalf("ShowPartitions(%s) of a new layout with the old %s open for 200 ms: %v", dev, part, err)
	}
	if kernel, _ := Partitions(sysRoot, dev); len(kernel) != 1 || kernel[0].Partition != 2 || kernel[0].Size != 4*mib {
		t.Errorf("after ShowPartitions of the new layout the kernel shows %+v", kernel)
	}
}

// onePartitionLoop makes an image file of size bytes with one partition,
// attached to a loop device (detached after the test) with the partition
// shown: the device and its layout.
func onePartitionLoop(t *testing.T, name string, size int64) (string, []Part) {
	t.Helper()
	img := sparseFile(t, t.TempDir(), name, size)
	parts, err := WriteGPT(img, []Part{{Name: "data", Type: LinuxFS}})
	if err != nil {
		t.Fatal(err)
	}
	dev := attach(t, img, false)
	if err := ShowPartitions(dev, parts); err != nil {
		t.Fatal(err)
	}
	return dev, parts
}

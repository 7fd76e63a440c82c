package clone

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/internal/testsys"
	"github.com/drd-linux/drd/internal/treecmp"
	"github.com/drd-linux/drd/internal/treecmp/treetest"
)

// buildSource makes a source system with every kind of entry, kernel-like
// files in /boot and a boot loader in its (unmounted) ESP.
func buildSource(t *testing.T) *testsys.System {
	t.Helper()
	ctx := context.Background()
	s := testsys.ForTest(t, testsys.Options{})
	if err := fillEveryKind(s.Root); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Root, "boot/vmlinuz-6.1.0-test"), []byte("kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A file hidden under a mount point is part of the root file system.
	if err := os.WriteFile(filepath.Join(bindAlone(t, s.Root), "home/hidden-under-mount"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	efi := filepath.Join(t.TempDir(), "grubx64.efi")
	os.WriteFile(efi, []byte("an EFI binary"), 0o644)
	if err := s.PutESP(ctx, efi, "/EFI/debian/grubx64.efi"); err != nil {
		t.Fatal(err)
	}
	return s
}

// cloned is a clone opened for inspection: its partitions mounted read-only.
type cloned struct {
	name       string // the clone's name, from its root partition's: sysimage_001
	root, boot string
	esp        string // ESP partition device
	devs       map[string]string
}

// openClone shows the partitions of target (an image file or a disk) and
// mounts the clone's root and /boot read-only.
func openClone(t *testing.T, target string) *cloned {
	t.Helper()
	return openCloneTyped(t, target, "ext4")
}

// openCloneTyped is openClone for a clone whose root is of type rootFS.
func openCloneTyped(t *testing.T, target, rootFS string) *cloned {
	t.Helper()
	disk := target
	if !strings.HasPrefix(target, "/dev/") {
		dev, err := images.AttachLoop(target, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { images.DetachLoop(dev) })
		disk = dev
	}
	parts, err := images.ReadGPT(disk)
	if err != nil {
		t.Fatal(err)
	}
	if err := images.ShowPartitions(disk, parts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { images.HidePartitions(disk) })
	c := &cloned{devs: map[string]string{}}
	for _, p := range parts {
		c.devs[p.Name] = images.PartitionPath(disk, p.Number)
		// The clone's name is any free one: other images on this
		// machine (other tests' clones) may hold sysimage_001.
		if m := regexp.MustCompile(`^drd-(sysimage_\d{3})-root$`).FindStringSubmatch(p.Name); m != nil {
			c.name = m[1]
		}
	}
	if c.name == "" || c.name == "sysimage_000" {
		t.Fatalf("the clone's root partition is not named drd-sysimage_NNN-root (NNN not 000): %v", c.devs)
	}
	c.esp = c.devs["drd-"+c.name+"-boot_efi"]
	for _, m := range []struct {
		name, typ string
		dir       *string
	}{{"drd-" + c.name + "-root", rootFS, &c.root}, {"drd-" + c.name + "-boot", "ext4", &c.boot}} {
		dev, ok := c.devs[m.name]
		if !ok {
			t.Fatalf("the clone has no partition %s; it has %v", m.name, c.devs)
		}
		*m.dir = t.TempDir()
		data := "noload"
		if m.typ == "xfs" {
			data = "norecovery"
		}
		if err := unix.Mount(dev, *m.dir, m.typ, unix.MS_RDONLY, data); err != nil {
			t.Fatalf("mounting %s: %v", dev, err)
		}
		dir := *m.dir
		t.Cleanup(func() { unix.Unmount(dir, 0) })
	}
	return c
}

// verifyClone compares a clone with its source entry by entry.
func verifyClone(t *testing.T, s *testsys.System, c *cloned) {
	t.Helper()
	opt := treecmp.Options{Ignore: []string{"/var/opt/drd", "/etc/fstab"}, IgnoreAtime: true}
	root := bindAlone(t, s.Root)
	if _, err := os.Stat(filepath.Join(c.root, "home/hidden-under-mount")); err != nil {
		t.Errorf("the file hidden under /home was not copied: %v", err)
	}
	for _, pair := range [][2]string{{root, c.root}, {filepath.Join(s.Root, "boot"), c.boot}} {
		diffs, err := treecmp.Compare(pair[0], pair[1], opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range diffs {
			t.Errorf("%s vs %s: %s", pair[0], pair[1], d)
		}
	}
	rec, err := bootenv.ReadRecord(c.root)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Name != c.name || rec.State != bootenv.Complete {
		t.Errorf("clone record: name %s state %s, want %s complete", rec.Name, rec.State, c.name)
	}
	data, err := os.ReadFile(filepath.Join(c.root, "etc/fstab"))
	if err != nil {
		t.Fatal(err)
	}
	fstab, err := bootenv.ParseFstab(data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"/": "drd-" + c.name + "-root", "/boot": "drd-" + c.name + "-boot", "/boot/efi": "drd-" + c.name + "-boot_efi"}
	for _, e := range fstab {
		part, critical := want[e.File]
		if !critical {
			if e.File == "/home" && !strings.HasPrefix(e.Spec, "UUID=") {
				t.Errorf("shared /home changed: %s", e.Spec)
			}
			continue
		}
		sig, err := images.ProbePath(c.devs[part])
		if err != nil {
			t.Fatal(err)
		}
		if e.Spec != "UUID="+sig.UUID {
			t.Errorf("clone fstab: %s is %s, want UUID=%s (the clone's %s)", e.File, e.Spec, sig.UUID, part)
		}
	}
	got, err := images.ReadFATFile(c.esp, "/EFI/debian/grubx64.efi")
	if err != nil || string(got) != "an EFI binary" {
		t.Errorf("clone ESP: /EFI/debian/grubx64.efi = %q, %v", got, err)
	}
	for name, dev := range c.devs {
		if strings.HasSuffix(name, "-bios") {
			continue
		}
		fsck := "fsck.ext4"
		if dev == c.esp {
			fsck = "fsck.vfat"
		}
		if out, err := exec.Command(fsck, "-n", dev).CombinedOutput(); err != nil {
			t.Errorf("%s -n %s (%s): %v\n%s", fsck, dev, name, err, out)
		}
	}
}

func TestCloneToImageFile(t *testing.T) {
	s := buildSource(t)
	target := filepath.Join(t.TempDir(), "clone.img")
	if err := Run(context.Background(), Options{Root: s.Root, Target: target}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	verifyClone(t, s, openClone(t, target))
	// The booted image got a record, and nothing else changed there.
	rec, err := bootenv.ReadRecord(s.Root)
	if err != nil || rec.Name != "sysimage_000" {
		t.Errorf("booted record: %+v, %v", rec, err)
	}
}

func TestCloneToLoopDeviceWithOverwrite(t *testing.T) {
	s := buildSource(t)
	img := filepath.Join(t.TempDir(), "disk.img")
	makeImage(t, img, 2<<30)
	dev := attach(t, img)
	if out, err := exec.Command("mkfs.ext4", "-q", dev).CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	err := Run(context.Background(), Options{Root: s.Root, Target: dev}, report.Func(t.Logf))
	if err == nil || !strings.Contains(err.Error(), "-x overwrite=true") {
		t.Fatalf("a target with a file system: got %v, want a refusal naming -x overwrite=true", err)
	}
	if err := Run(context.Background(), Options{Root: s.Root, Target: dev, Overwrite: true}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	verifyClone(t, s, openClone(t, dev))
}

// TestCloneLeavesAdministratorsLoop: a loop device the administrator
// attached to the target file (losetup) stays attached after a clone to
// that file is refused, and after one that succeeds with -x overwrite.
func TestCloneLeavesAdministratorsLoop(t *testing.T) {
	s := buildSource(t)
	img := filepath.Join(t.TempDir(), "busy.img")
	makeImage(t, img, 2<<30)
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	out, err := exec.Command("losetup", "--find", "--show", img).Output()
	if err != nil {
		t.Fatalf("losetup: %v", err)
	}
	theirs := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if images.LoopBackingFile("/sys", theirs) == img { // still ours: never detach a loop another test took since
			exec.Command("losetup", "-d", theirs).Run()
		}
	})
	stillThere := func(when string) {
		t.Helper()
		if got := images.LoopBackingFile("/sys", theirs); got != img {
			t.Errorf("%s: the administrator's %s is backed by %q, want %s", when, theirs, got, img)
		}
	}
	err = Run(context.Background(), Options{Root: s.Root, Target: img}, report.Func(t.Logf))
	if err == nil || !strings.Contains(err.Error(), "-x overwrite=true") {
		t.Fatalf("a target file with a file system: got %v, want a refusal naming -x overwrite=true", err)
	}
	stillThere("after a refused clone")
	if err := Run(context.Background(), Options{Root: s.Root, Target: img, Overwrite: true}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	stillThere("after a clone with -x overwrite=true")
	loops, _ := images.LoopsOf("/sys", img)
	if len(loops) != 1 {
		t.Errorf("loops of %s after the clone: %v, want only the administrator's %s", img, loops, theirs)
	}
}

// bindAlone shows the file system at dir without what is mounted below it.
func bindAlone(t *testing.T, dir string) string {
	t.Helper()
	at := t.TempDir()
	if err := unix.Mount(dir, at, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(at, unix.MNT_DETACH) })
	return at
}

func makeImage(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

func attach(t *testing.T, img string) string {
	t.Helper()
	dev, err := images.AttachLoop(img, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := images.DetachLoop(dev); err != nil {
			t.Error(err)
		}
	})
	return dev
}

func TestCloneRefusals(t *testing.T) {
	s := buildSource(t)
	small := filepath.Join(t.TempDir(), "small.img")
	makeImage(t, small, 100<<20)
	smallDev := attach(t, small)
	busyImg := filepath.Join(t.TempDir(), "busy.img")
	makeImage(t, busyImg, 2<<30)
	busy := attach(t, busyImg)
	if out, err := exec.Command("mkfs.ext4", "-q", busy).CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	mnt := t.TempDir()
	if err := unix.Mount(busy, mnt, "ext4", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, 0) })

	marker := filepath.Join(mnt, "marker")
	if err := os.WriteFile(marker, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, target string
		want         string
	}{
		{"a partition", s.Boot, "is a partition of " + s.Disk + "; drd clone needs a whole disk (e.g. " + s.Disk + ")"},
		{"the source disk", s.Disk, "holds the booted image's /"},
		{"a mounted file system", busy, "is in use"},
		{"too small", smallDev, "needs at least"},
		{"no such device", "/dev/drd-no-such-disk", "does not exist"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := fingerprint(t, tt.target)
			err := Run(context.Background(), Options{Root: s.Root, Target: tt.target, Overwrite: true}, report.Func(t.Logf))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error saying %q", err, tt.want)
			}
			if after := fingerprint(t, tt.target); after != before {
				t.Errorf("the refused target %s changed: %s, was %s", tt.target, after, before)
			}
		})
	}
	if data, err := os.ReadFile(marker); err != nil || string(data) != "keep me" {
		t.Errorf("the mounted target's file: %q, %v", data, err)
	}
}

// fingerprint is what a refused clone must leave as it was: the partition
// table and signature of a device in use (whose bytes change with its own
// use), or every byte of one that is not.
func fingerprint(t *testing.T, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		return "absent"
	}
	d, err := images.DeviceByPath("/sys", path)
	if err != nil {
		t.Fatal(err)
	}
	busy, err := images.InUse("/sys", "/proc", d)
	if err != nil {
		t.Fatal(err)
	}
	if len(busy) == 0 {
		return hashDevice(t, path)
	}
	parts, gptErr := images.ReadGPT(path)   // none on a file system
	sig, probeErr := images.ProbePath(path) // none on a partitioned disk
	if gptErr != nil && probeErr != nil {
		t.Fatalf("%s has neither a GPT (%v) nor a signature (%v): nothing to compare", path, gptErr, probeErr)
	}
	return fmt.Sprintf("%+v %v %+v %v", parts, gptErr, sig, probeErr)
}

func hashDevice(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "absent"
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return string(h.Sum(nil))
}

func TestPreviewWritesNothing(t *testing.T) {
	s := buildSource(t)
	img := filepath.Join(t.TempDir(), "disk.img")
	makeImage(t, img, 2<<30)
	dev := attach(t, img)
	before := hashDevice(t, dev)
	if err := Run(context.Background(), Options{Root: s.Root, Target: dev, Preview: true}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	newFile := filepath.Join(t.TempDir(), "new.img")
	if err := Run(context.Background(), Options{Root: s.Root, Target: newFile, Preview: true}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	if hashDevice(t, dev) != before {
		t.Error("preview changed the target's bytes")
	}
	if hashDevice(t, newFile) != "absent" {
		t.Error("preview created the image file")
	}
	if _, err := os.Stat(filepath.Join(s.Root, bootenv.RecordPath)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("preview wrote the booted image's record: %v", err)
	}
	mounts, err := bootenv.ReadMountinfo("/proc")
	if err != nil {
		t.Fatal(err)
	}
	if left := bootenv.MountsUnder(mounts, filepath.Join(s.Root, bootenv.MountsDir)); len(left) > 0 {
		t.Errorf("preview left mounts: %+v", left)
	}
}

// cancelAfter cancels a context once the copy has moved some bytes.
type cancelAfter struct {
	report.Reporter
	bytes  int64
	cancel context.CancelFunc
	once   sync.Once
}

func (c *cancelAfter) Progress(p report.Progress) {
	if p.Bytes >= c.bytes {
		c.once.Do(c.cancel)
	}
}

func TestInterruptedCloneIsBrokenThenRecovers(t *testing.T) {
	s := buildSource(t)
	target := filepath.Join(t.TempDir(), "clone.img")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &cancelAfter{Reporter: report.Func(t.Logf), bytes: 1, cancel: cancel}
	err := Run(ctx, Options{Root: s.Root, Target: target}, r)
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted clone: got %v, want context.Canceled", err)
	}
	c := openClone(t, target)
	rec, err := bootenv.ReadRecord(c.root)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != bootenv.Broken {
		t.Errorf("interrupted clone is %s, want broken", rec.State)
	}
	unix.Unmount(c.root, 0)
	unix.Unmount(c.boot, 0)
	loops, _ := images.LoopsOf("/sys", target)
	for _, l := range loops {
		images.DetachLoop(l)
	}
	// Nothing of the clone is left mounted.
	mounts, err := bootenv.ReadMountinfo("/proc")
	if err != nil {
		t.Fatal(err)
	}
	if left := bootenv.MountsUnder(mounts, filepath.Join(s.Root, bootenv.MountsDir)); len(left) > 0 {
		t.Errorf("left mounted: %+v", left)
	}
	err = Run(context.Background(), Options{Root: s.Root, Target: target}, report.Func(t.Logf))
	if err == nil || !strings.Contains(err.Error(), "overwrite") {
		t.Errorf("rerun without overwrite: got %v, want a refusal", err)
	}
	if err := Run(context.Background(), Options{Root: s.Root, Target: target, Overwrite: true}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	verifyClone(t, s, openClone(t, target))
}

func TestCloneXFSRoot(t *testing.T) {
	ctx := context.Background()
	s := testsys.ForTest(t, testsys.Options{RootFS: "xfs"})
	if err := fillEveryKind(s.Root); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "clone.img")
	if err := Run(ctx, Options{Root: s.Root, Target: target}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	c := openCloneTyped(t, target, "xfs")
	diffs, err := treecmp.Compare(bindAlone(t, s.Root), c.root, treecmp.Options{Ignore: []string{"/var/opt/drd", "/etc/fstab"}, IgnoreAtime: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		t.Error(d)
	}
	src, _ := exec.Command("xfs_info", s.Root).Output()
	dst, _ := exec.Command("xfs_info", c.root).Output()
	ps, err1 := parseXFSInfo(src)
	pd, err2 := parseXFSInfo(dst)
	if err1 != nil || err2 != nil || strings.Join(ps.meta, ",") != strings.Join(pd.meta, ",") || ps.ftype != pd.ftype {
		t.Errorf("xfs features: source %+v, clone %+v (%v, %v)", ps, pd, err1, err2)
	}
	if err := unix.Unmount(c.root, 0); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("xfs_repair", "-n", c.devs["drd-"+c.name+"-root"]).CombinedOutput(); err != nil {
		t.Errorf("xfs_repair -n on the clone's root: %v\n%s", err, out)
	}
}

// fillEveryKind puts treetest's tree of every kind of entry in root/srv/tree.
func fillEveryKind(root string) error {
	dir := filepath.Join(root, "srv/tree")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	_, err := treetest.Build(dir, treetest.Options{BigFile: 70 << 20})
	return err
}

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// runner runs the external programs of the benchmark: mkfs, losetup, mount,
// debootstrap, and the copies it times.
type runner struct {
	verbose bool
}

// run runs a command and returns its output; failures carry the output.
func (r runner) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if r.verbose {
		fmt.Fprintf(os.Stderr, "+ %s %s\n", name, strings.Join(args, " "))
	}
	if err != nil {
		return string(out), fmt.Errorf("running %s %s: %w\n%s", name, strings.Join(args, " "), err, tail(out))
	}
	return string(out), nil
}

func tail(b []byte) string {
	if len(b) > 2000 {
		return "…" + string(b[len(b)-2000:])
	}
	return string(b)
}

// fsImage is a mounted ext4 file system: in an image file attached to a
// loop device, or on a block device of its own (img "").
type fsImage struct {
	img, dev, mnt string
}

// makeImage creates a sparse image file of size bytes with a fresh ext4 in
// it.
func (r runner) makeImage(ctx context.Context, img string, size int64) error {
	f, err := os.OpenFile(img, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	f.Close()
	if err != nil {
		return err
	}
	return r.mkfs(ctx, img)
}

// mkfs makes a fresh ext4 on an image file or a block device, inode tables
// and journal written now: no lazy init running in the background during a
// measurement.
func (r runner) mkfs(ctx context.Context, path string) error {
	_, err := r.run(ctx, "mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", path)
	return err
}

// mountDev mounts the ext4 on block device dev at mnt. A link such as
// /dev/vg/lv is resolved to the device itself (/dev/dm-N), whose counters
// devIO reads.
func (r runner) mountDev(ctx context.Context, dev, mnt, opts string) (*fsImage, error) {
	real, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return nil, fmt.Errorf("block device %s: %w", dev, err)
	}
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return nil, err
	}
	if _, err := r.run(ctx, "mount", "-t", "ext4", "-o", opts, real, mnt); err != nil {
		return nil, err
	}
	return &fsImage{dev: real, mnt: mnt}, nil
}

// attach attaches img to a loop device and mounts it at mnt. The loop
// device does direct I/O on the image file, so that it behaves as a disk:
// no second page cache on the host (which would read ahead in small steps
// and keep written data dirty in memory until the final sync).
func (r runner) attach(ctx context.Context, img, mnt, opts string) (*fsImage, error) {
	out, err := r.run(ctx, "losetup", "--find", "--show", "--direct-io=on", img)
	if err != nil {
		return nil, err
	}
	fs := &fsImage{img: img, dev: strings.TrimSpace(out), mnt: mnt}
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		r.run(context.Background(), "losetup", "-d", fs.dev)
		return nil, err
	}
	if _, err := r.run(ctx, "mount", "-t", "ext4", "-o", opts, fs.dev, mnt); err != nil {
		r.run(context.Background(), "losetup", "-d", fs.dev)
		return nil, err
	}
	return fs, nil
}

// detach unmounts, and detaches the loop device of an image (never
// cancelled: it is the cleanup).
func (r runner) detach(fs *fsImage) error {
	if fs == nil {
		return nil
	}
	ctx := context.Background()
	if _, err := r.run(ctx, "umount", fs.mnt); err != nil {
		if _, err2 := r.run(ctx, "umount", "-l", fs.mnt); err2 != nil {
			return err
		}
	}
	if fs.img == "" {
		return nil
	}
	_, err := r.run(ctx, "losetup", "-d", fs.dev)
	return err
}

// dropCaches writes everything out and empties the page cache, dentries and
// inodes: the next run starts cold.
func dropCaches() error {
	unix.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200)
}

// ioStat is what a block device has read and written, in bytes.
type ioStat struct{ read, written int64 }

func devIO(dev string) ioStat {
	b, err := os.ReadFile(filepath.Join("/sys/block", filepath.Base(dev), "stat"))
	if err != nil {
		return ioStat{}
	}
	f := strings.Fields(string(b))
	if len(f) < 7 {
		return ioStat{}
	}
	rd, _ := strconv.ParseInt(f[2], 10, 64)
	wr, _ := strconv.ParseInt(f[6], 10, 64)
	return ioStat{read: rd * 512, written: wr * 512}
}

// used is what the physical floor reads of a source: the space its image
// file takes on the host, or what its file system uses on its device.
func used(fs *fsImage) int64 {
	if fs.img != "" {
		return allocated(fs.img)
	}
	var st unix.Statfs_t
	if unix.Statfs(fs.mnt, &st) != nil {
		return 0
	}
	return int64(st.Blocks-st.Bfree) * st.Bsize
}

// loadAverage is the 1-minute load average in file (a copy of
// /proc/loadavg), or -1 when it cannot be read.
func loadAverage(file string) float64 {
	b, err := os.ReadFile(file)
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// allocated is the space an image file takes on the host.
func allocated(path string) int64 {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return 0
	}
	return st.Blocks * 512
}

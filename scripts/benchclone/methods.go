package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/clone/copyfs"
	"github.com/drd-linux/drd/internal/treecmp"
)

// method is one way of copying a tree (or the floor), timed by the caller
// from a cold cache; it fills in the CPU time and notes of res.
type method struct {
	name  string
	run   func(ctx context.Context, b *bench, src, dst *fsImage, res *result) error
	after func(ctx context.Context, b *bench, src, dst *fsImage, res *result) error // untimed
}

var methods = []method{
	{name: "drd", run: runDrd, after: runSync},
	{name: "cp", run: func(ctx context.Context, b *bench, src, dst *fsImage, res *result) error {
		return runTool(ctx, res, dst.mnt, "cp", "-a", src.mnt+"/.", dst.mnt+"/")
	}},
	{name: "rsync", run: func(ctx context.Context, b *bench, src, dst *fsImage, res *result) error {
		return runTool(ctx, res, dst.mnt, "rsync", "-aHAXS", "--numeric-ids", src.mnt+"/", dst.mnt+"/")
	}},
	{name: "floor", run: runFloor},
}

func findMethod(name string) *method {
	for i := range methods {
		if methods[i].name == name {
			return &methods[i]
		}
	}
	return nil
}

// runDrd copies with copyfs in this process, then syncs the target.
func runDrd(ctx context.Context, b *bench, src, dst *fsImage, res *result) error {
	var before, after unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &before)
	if b.profile != nil {
		if err := pprof.StartCPUProfile(b.profile); err == nil {
			defer pprof.StopCPUProfile()
		}
	}
	start := time.Now()
	st, err := copyfs.Copy(ctx, src.mnt, dst.mnt, copyfs.Options{Workers: b.workers})
	if err != nil {
		return err
	}
	copied := time.Since(start)
	if err := copyfs.SyncFS(dst.mnt); err != nil {
		return err
	}
	unix.Getrusage(unix.RUSAGE_SELF, &after)
	res.user = tv(after.Utime) - tv(before.Utime)
	res.sys = tv(after.Stime) - tv(before.Stime)
	res.note = fmt.Sprintf("copy %.2fs + syncfs %.2fs, %d entries, %.0f MB", copied.Seconds(), (time.Since(start) - copied).Seconds(), st.Entries, mb(st.Bytes))
	return nil
}

// runSync times the second pass a clone runs after the copy (the cache is
// warm then, as in a clone): with nothing changed, its cost is the walk.
func runSync(ctx context.Context, b *bench, src, dst *fsImage, res *result) error {
	start := time.Now()
	st, err := copyfs.Sync(ctx, src.mnt, dst.mnt, copyfs.Options{Workers: b.workers})
	if err != nil {
		return err
	}
	res.note += fmt.Sprintf("; then Sync %.2fs, caught %d of %d", time.Since(start).Seconds(), st.Entries, st.Checked)
	return nil
}

func tv(t unix.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// runTool runs a copying program, then syncs the target file system as
// copyfs.SyncFS does, so that every method ends with its data on disk.
func runTool(ctx context.Context, res *result, dst string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, tail(out))
	}
	res.user = cmd.ProcessState.UserTime().Seconds()
	res.sys = cmd.ProcessState.SystemTime().Seconds()
	start := time.Now()
	if err := copyfs.SyncFS(dst); err != nil {
		return err
	}
	res.note = fmt.Sprintf("syncfs %.2fs", time.Since(start).Seconds())
	return nil
}

// runFloor reads every allocated byte of the source image sequentially (of
// a source device: as many bytes as its file system uses, from its start),
// then writes as many bytes sequentially into the target and syncs: what
// the disks cost with no file system work at all.
func runFloor(ctx context.Context, b *bench, src, dst *fsImage, res *result) error {
	n := used(src)
	readArgs := []string{"if=" + src.img, "of=/dev/null", "bs=16M", "iflag=direct"}
	if src.img == "" {
		readArgs = []string{"if=" + src.dev, "of=/dev/null", "bs=16M", "count=" + strconv.FormatInt((n+16<<20-1)/(16<<20), 10), "iflag=direct"}
	}
	start := time.Now()
	if _, err := b.r.run(ctx, "dd", readArgs...); err != nil {
		return err
	}
	readTime := time.Since(start)
	if _, err := b.r.run(ctx, "dd", "if=/dev/zero", "of="+filepath.Join(dst.mnt, "floor"), "bs=16M",
		"count="+strconv.FormatInt(n/(16<<20), 10), "oflag=direct", "conv=fsync"); err != nil {
		return err
	}
	res.note = fmt.Sprintf("read %.0f MB in %.2fs, wrote it in %.2fs", mb(n), readTime.Seconds(), (time.Since(start) - readTime).Seconds())
	return nil
}

// countTree counts the entries and data bytes of a tree (untimed).
func countTree(root string) (entries, data int64) {
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return nil
		}
		entries++
		if d.Type().IsRegular() {
			var st unix.Stat_t
			if unix.Lstat(p, &st) == nil && st.Nlink >= 1 {
				data += st.Blocks * 512
			}
		}
		return nil
	})
	return entries, data
}

// compareTrees counts the differences between a source and its copy and
// shows the first few.
func compareTrees(a, b string) (int, error) {
	diffs, err := treecmp.Compare(a, b, treecmp.Options{})
	if err != nil {
		return 0, err
	}
	for i, d := range diffs {
		if i == 5 {
			fmt.Fprintf(os.Stderr, "    … %d more\n", len(diffs)-5)
			break
		}
		fmt.Fprintf(os.Stderr, "    differs: %s\n", d)
	}
	return len(diffs), nil
}

package copyfs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/clone/copyfs"
	"github.com/drd-linux/drd/internal/treecmp"
	"github.com/drd-linux/drd/internal/treecmp/treetest"
)

// same fails the test for every difference between the trees.
func same(t *testing.T, a, b string, opt treecmp.Options) {
	t.Helper()
	diffs, err := treecmp.Compare(a, b, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		t.Errorf("copy differs: %s", d)
	}
}

func TestCopyEveryKindOfEntry(t *testing.T) {
	treetest.NeedRoot(t, "setfacl", "setcap")
	src := treetest.Ext4(t, 512<<20)
	dst := treetest.Ext4(t, 512<<20)
	want, err := treetest.Build(src, treetest.Options{BigFile: 65<<20 + 4321})
	if err != nil {
		t.Fatal(err)
	}
	var progress atomic.Int64
	st, err := copyfs.Copy(context.Background(), src, dst, copyfs.Options{
		Logf:     t.Logf,
		Progress: func(copyfs.Stats) { progress.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := copyfs.SyncFS(dst); err != nil {
		t.Fatal(err)
	}
	t.Logf("copied: %+v", st)
	same(t, src, dst, treecmp.Options{})

	// lost+found, made by mkfs in both, is one more directory.
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"entries", st.Entries, want.Entries + 1},
		{"files", st.Files, want.Files},
		{"dirs", st.Dirs, want.Dirs + 1},
		{"symlinks", st.Symlinks, want.Symlinks},
		{"hard links", st.HardLinks, want.HardLinks},
		{"devices", st.Devices, want.Devices},
		{"fifos", st.Fifos, want.Fifos},
		{"sockets skipped", st.SocketsSkipped, want.Sockets},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, c.got, c.want)
		}
	}
	if st.Bytes < 65<<20 || st.Bytes > 70<<20 {
		t.Errorf("bytes: got %d: holes copied, or data missing", st.Bytes)
	}
	if progress.Load() == 0 {
		t.Error("Progress was never called")
	}
}

func TestCopyExcludeKeepsTheDirectory(t *testing.T) {
	treetest.NeedRoot(t, "setfacl", "setcap")
	src := treetest.Ext4(t, 256<<20)
	dst := treetest.Ext4(t, 256<<20)
	if _, err := treetest.Build(src, treetest.Options{SparseSize: 8 << 20}); err != nil {
		t.Fatal(err)
	}
	_, err := copyfs.Copy(context.Background(), src, dst, copyfs.Options{
		Exclude: []string{"/many/", "links/a"}, Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dst + "/many")
	if err != nil || len(ents) != 0 {
		t.Errorf("excluded /many: %d entries, %v; want an empty directory", len(ents), err)
	}
	if _, err := os.Lstat(dst + "/links/a"); !os.IsNotExist(err) {
		t.Errorf("excluded file /links/a: %v, want it left out", err)
	}
	// Only the contents of /many differ; /many itself (mode, owner, times)
	// and /other/b, the remaining name of /links/a, are as in the source.
	diffs, err := treecmp.Compare(src, dst, treecmp.Options{Ignore: []string{"/links/a"}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range diffs {
		if d.What == "only in a" && strings.HasPrefix(d.Path, "/many/") {
			n++
			continue
		}
		t.Errorf("copy differs: %s", d)
	}
	if n != 300 {
		t.Errorf("%d entries of /many missing, want 300", n)
	}
}

func TestCopyDoesNotCrossMounts(t *testing.T) {
	treetest.NeedRoot(t)
	src := treetest.Ext4(t, 64<<20)
	dst := treetest.Ext4(t, 64<<20)
	nested := filepath.Join(src, "nested")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	treetest.Run(t, "mount", "-t", "tmpfs", "-o", "size=1m,mode=0750", "tmpfs", nested)
	t.Cleanup(func() { treetest.Unmount(t, nested) })
	if err := os.WriteFile(filepath.Join(nested, "inside"), []byte("other fs"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := copyfs.Copy(context.Background(), src, dst, copyfs.Options{Logf: t.Logf}); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Join(dst, "nested"))
	if err != nil || len(ents) != 0 {
		t.Errorf("mount point copied with %d entries (%v), want an empty directory", len(ents), err)
	}
	same(t, src, dst, treecmp.Options{})
}

func TestSyncCatchesUp(t *testing.T) {
	treetest.NeedRoot(t, "setfacl", "setcap")
	src := treetest.Ext4(t, 256<<20)
	// The target on relatime, as a clone's may be: the passes must not
	// read what would change its access times (symbolic links).
	dst := treetest.Ext4(t, 256<<20, "relatime")
	if _, err := treetest.Build(src, treetest.Options{SparseSize: 16 << 20}); err != nil {
		t.Fatal(err)
	}
	// File times come from the kernel's coarse clock (a few ms a tick). Sync
	// takes a source ctime equal to its copy's as a change (it cannot tell
	// them apart), so let the clock move past the source's last change.
	time.Sleep(50 * time.Millisecond)
	ctx := context.Background()
	if _, err := copyfs.Copy(ctx, src, dst, copyfs.Options{Logf: t.Logf}); err != nil {
		t.Fatal(err)
	}
	// Nothing changed: nothing to catch.
	if st, err := copyfs.Sync(ctx, src, dst, copyfs.Options{}); err != nil || st.Entries != 0 {
		t.Fatalf("Sync right after Copy: %+v, %v; want nothing caught", st, err)
	}

	// Change the source every way a live system can.
	p := func(rel string) string { return filepath.Join(src, rel) }
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	keep := func(path string) func() {
		var st unix.Stat_t
		check(unix.Lstat(path, &st))
		return func() {
			check(unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{st.Atim, st.Mtim}, unix.AT_SYMLINK_NOFOLLOW))
		}
	}
	// Same size, same times: only the status change time tells.
	restore := keep(p("many/f010"))
	f, err := os.OpenFile(p("many/f010"), os.O_WRONLY, 0)
	check(err)
	_, err = f.WriteAt([]byte("changed"), 100)
	check(err)
	check(f.Close())
	restore()
	check(os.WriteFile(p("many/f011"), []byte("new content"), 0o644))
	check(os.WriteFile(p("new-file"), []byte("new"), 0o600))
	check(os.MkdirAll(p("new-dir/sub"), 0o755))
	check(os.WriteFile(p("new-dir/sub/file"), []byte("new"), 0o644))
	check(os.Link(p("new-dir/sub/file"), p("new-dir/link")))
	check(os.Remove(p("empty")))                  // 1 removed
	check(os.RemoveAll(p("deep/d01")))            // 41 removed
	check(os.RemoveAll(p("times")))               // 3 removed
	check(os.WriteFile(p("times"), nil, 0o644))   // … a file now
	check(os.Remove(p("names/with space")))       // 1 removed
	check(os.Mkdir(p("names/with space"), 0o700)) // … a directory now
	check(os.Chmod(p("setuid"), 0o755))           // setuid bit gone
	check(os.Lchown(p("owned"), 4321, 8765))
	check(unix.Setxattr(p("xattrs"), "user.drd", []byte("changed"), 0))
	check(unix.Removexattr(p("xattrs"), "trusted.drd"))
	treetest.Run(t, "setfacl", "-m", "u:4321:rw-", p("acl-file"))
	treetest.Run(t, "setfacl", "-d", "-m", "u:7:r--", p("acl-dir"))
	data, err := os.ReadFile(p("other/b")) // break a link group
	check(err)
	check(os.Remove(p("other/b")))
	check(os.WriteFile(p("other/b"), data, 0o644))
	check(os.Remove(p("names/-dash"))) // join two files into one
	check(os.Link(p("names/.hidden"), p("names/-dash")))
	check(os.Link(p("setgid-dir/file"), p("other/new-link"))) // link to an unchanged file
	check(os.Remove(p("symlinks/abs")))
	check(os.Symlink("/etc/hosts", p("symlinks/abs")))
	check(os.Remove(p("symlinks/rel"))) // same length, other target
	check(os.Symlink("../setgid", p("symlinks/rel")))
	check(os.Remove(p("devs/chr")))
	check(unix.Mknod(p("devs/chr"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5))))
	check(unix.UtimesNanoAt(unix.AT_FDCWD, p("many/f020"), []unix.Timespec{{Sec: 12345, Nsec: 678}, {Nsec: unix.UTIME_OMIT}}, 0))
	f, err = os.OpenFile(p("sparse/hole-first"), os.O_WRONLY, 0)
	check(err)
	_, err = f.WriteAt([]byte("into the hole"), 3<<20)
	check(err)
	check(f.Close())
	time.Sleep(50 * time.Millisecond) // the coarse clock past the changes, as above

	st, err := copyfs.Sync(ctx, src, dst, copyfs.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("caught: %+v", st)
	if st.Removed != 46 {
		t.Errorf("removed %d entries, want 46", st.Removed)
	}
	if st.Entries < 25 || st.HardLinks < 2 || st.Files < 8 || st.Symlinks < 2 {
		t.Errorf("caught too little: %+v", st)
	}

	// Nothing changed since: a second pass catches nothing.
	st, err = copyfs.Sync(ctx, src, dst, copyfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Entries != 0 || st.Bytes != 0 {
		t.Errorf("second pass caught %+v, want nothing", st)
	}
	same(t, src, dst, treecmp.Options{})
}

func TestCopyStopsWhenCancelled(t *testing.T) {
	treetest.NeedRoot(t, "setfacl", "setcap")
	src := treetest.Ext4(t, 1<<30)
	dst := treetest.Ext4(t, 1<<30)
	if _, err := treetest.Build(src, treetest.Options{BigFile: 512 << 20, SparseSize: 8 << 20}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan time.Time, 1)
	timer := time.AfterFunc(30*time.Millisecond, func() { cancelled <- time.Now(); cancel() })
	defer timer.Stop()
	_, err := copyfs.Copy(ctx, src, dst, copyfs.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if late := time.Since(<-cancelled); late > time.Second {
		t.Errorf("Copy returned %v after the cancel, want well under a second", late)
	}

	// Cancelled before it starts: nothing is written.
	dst2 := treetest.Ext4(t, 64<<20)
	if _, err := copyfs.Copy(ctx, src, dst2, copyfs.Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if ents, _ := os.ReadDir(dst2); len(ents) > 1 {
		t.Errorf("cancelled copy wrote %d entries", len(ents))
	}
}

func TestCopyTargetFull(t *testing.T) {
	treetest.NeedRoot(t)
	src := treetest.Ext4(t, 256<<20)
	dst := treetest.Ext4(t, 32<<20)
	big := make([]byte, 64<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	if err := os.WriteFile(filepath.Join(src, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := copyfs.Copy(context.Background(), src, dst, copyfs.Options{})
	if !errors.Is(err, copyfs.ErrTargetFull) || !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("got %v, want ErrTargetFull", err)
	}
	if want := "target file system full while writing " + filepath.Join(dst, "big"); !strings.Contains(err.Error(), want) {
		t.Errorf("got %q, want it to say %q", err, want)
	}
}

func TestCopyIntoItself(t *testing.T) {
	// Any user: plain files owned by the caller in a temporary directory.
	src := t.TempDir()
	for _, d := range []string{"a/b", "c"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, d, "f"), []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(src, "c", "copy")
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := copyfs.Copy(context.Background(), src, dst, copyfs.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 2 {
		t.Errorf("copied %d files, want 2: %+v", st.Files, st)
	}
	for _, p := range []string{"a/b/f", "c/f"} {
		if b, err := os.ReadFile(filepath.Join(dst, p)); err != nil || string(b) != filepath.Dir(p) {
			t.Errorf("%s: %q, %v", p, b, err)
		}
	}
	if ents, err := os.ReadDir(filepath.Join(dst, "c", "copy")); err != nil || len(ents) != 0 {
		t.Errorf("the target was copied into itself: %d entries, %v", len(ents), err)
	}
}

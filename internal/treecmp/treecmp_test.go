package treecmp_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/internal/treecmp"
	"github.com/drd-linux/drd/internal/treecmp/treetest"
)

// keepTimes records the times of paths and returns a function that puts
// them back: a mutation then changes only what it means to.
func keepTimes(t *testing.T, paths ...string) func() {
	t.Helper()
	type saved struct {
		path string
		ts   []unix.Timespec
	}
	var all []saved
	for _, p := range paths {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		all = append(all, saved{p, []unix.Timespec{st.Atim, st.Mtim}})
	}
	return func() {
		t.Helper()
		for _, s := range all {
			err := unix.UtimesNanoAt(unix.AT_FDCWD, s.path, s.ts, unix.AT_SYMLINK_NOFOLLOW)
			if err != nil && err != unix.ENOENT {
				t.Fatal(err)
			}
		}
	}
}

// edit runs fn on path and puts the times of path and its directory back.
func edit(t *testing.T, path string, fn func() error) {
	t.Helper()
	restore := keepTimes(t, path, filepath.Dir(path))
	if err := fn(); err != nil {
		t.Fatal(err)
	}
	restore()
}

func writeAt(path string, data []byte, off int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteAt(data, off)
	return err
}

type want struct{ path, what string }

func TestCompareFindsEachDifference(t *testing.T) {
	treetest.NeedRoot(t, "setfacl", "setcap")
	mnt := treetest.Ext4(t, 512<<20)
	a := filepath.Join(mnt, "a")
	build := func(dir string) {
		t.Helper()
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := treetest.Build(dir, treetest.Options{SparseSize: 64<<20 + 12345}); err != nil {
			t.Fatal(err)
		}
	}
	build(a)

	cases := []struct {
		name   string
		mutate func(t *testing.T, b string)
		opt    treecmp.Options
		want   []want // each must be reported, and nothing at other paths
	}{
		{name: "identical"},
		{name: "mode", mutate: func(t *testing.T, b string) {
			edit(t, b+"/setuid", func() error { return unix.Chmod(b+"/setuid", 0o755) })
		}, want: []want{{"/setuid", "mode"}}},
		{name: "sticky bit", mutate: func(t *testing.T, b string) {
			edit(t, b+"/sticky", func() error { return unix.Chmod(b+"/sticky", 0o777) })
		}, want: []want{{"/sticky", "mode"}}},
		{name: "owner", mutate: func(t *testing.T, b string) {
			edit(t, b+"/owned", func() error { return unix.Lchown(b+"/owned", 1234, 1) })
		}, want: []want{{"/owned", "owner"}}},
		{name: "xattr value", mutate: func(t *testing.T, b string) {
			edit(t, b+"/xattrs", func() error { return unix.Setxattr(b+"/xattrs", "user.drd", []byte("hellO"), 0) })
		}, want: []want{{"/xattrs", "xattr user.drd"}}},
		{name: "trusted xattr removed", mutate: func(t *testing.T, b string) {
			edit(t, b+"/xattrs", func() error { return unix.Removexattr(b+"/xattrs", "trusted.drd") })
		}, want: []want{{"/xattrs", "xattr trusted.drd"}}},
		{name: "capability removed", mutate: func(t *testing.T, b string) {
			edit(t, b+"/cap", func() error { return unix.Removexattr(b+"/cap", "security.capability") })
		}, want: []want{{"/cap", "xattr security.capability"}}},
		{name: "access ACL", mutate: func(t *testing.T, b string) {
			edit(t, b+"/acl-file", func() error { treetest.Run(t, "setfacl", "-m", "u:4321:r--", b+"/acl-file"); return nil })
		}, want: []want{{"/acl-file", "xattr system.posix_acl_access"}}},
		{name: "default ACL", mutate: func(t *testing.T, b string) {
			edit(t, b+"/acl-dir", func() error { treetest.Run(t, "setfacl", "-d", "-m", "u:999:r--", b+"/acl-dir"); return nil })
		}, want: []want{{"/acl-dir", "xattr system.posix_acl_default"}}},
		{name: "xattr on a symlink", mutate: func(t *testing.T, b string) {
			p := b + "/symlinks/with-xattr"
			edit(t, p, func() error { return unix.Lsetxattr(p, "trusted.link", []byte("changed"), 0) })
		}, want: []want{{"/symlinks/with-xattr", "xattr trusted.link"}}},
		{name: "one byte", mutate: func(t *testing.T, b string) {
			p := b + "/many/f100"
			edit(t, p, func() error { return writeAt(p, []byte{'!'}, 7) })
		}, want: []want{{"/many/f100", "content"}}},
		{name: "size", mutate: func(t *testing.T, b string) {
			p := b + "/many/f101"
			edit(t, p, func() error { return os.Truncate(p, 5) })
		}, want: []want{{"/many/f101", "size"}}},
		{name: "mtime ns", mutate: func(t *testing.T, b string) {
			p := b + "/times/file"
			var st unix.Stat_t
			unix.Lstat(p, &st)
			st.Mtim.Nsec++
			unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{st.Atim, st.Mtim}, 0)
		}, want: []want{{"/times/file", "mtime"}}},
		{name: "atime", mutate: func(t *testing.T, b string) {
			p := b + "/times/file"
			unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{{Sec: 1}, {Nsec: unix.UTIME_OMIT}}, 0)
		}, want: []want{{"/times/file", "atime"}}},
		{name: "atime ignored", mutate: func(t *testing.T, b string) {
			p := b + "/times/file"
			unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{{Sec: 1}, {Nsec: unix.UTIME_OMIT}}, 0)
		}, opt: treecmp.Options{IgnoreAtime: true}},
		{name: "directory mtime ns", mutate: func(t *testing.T, b string) {
			p := b + "/times"
			var st unix.Stat_t
			unix.Lstat(p, &st)
			st.Mtim.Nsec--
			unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{st.Atim, st.Mtim}, 0)
		}, want: []want{{"/times", "mtime"}}},
		{name: "symlink mtime ns", mutate: func(t *testing.T, b string) {
			p := b + "/times/link"
			var st unix.Stat_t
			unix.Lstat(p, &st)
			st.Mtim.Nsec--
			unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{st.Atim, st.Mtim}, unix.AT_SYMLINK_NOFOLLOW)
		}, want: []want{{"/times/link", "mtime"}}},
		{name: "symlink target", mutate: func(t *testing.T, b string) {
			p := b + "/symlinks/abs"
			edit(t, p, func() error {
				if err := os.Remove(p); err != nil {
					return err
				}
				return os.Symlink("/etc/shadow", p)
			})
		}, want: []want{{"/symlinks/abs", "symlink target"}}},
		{name: "small hole filled", mutate: func(t *testing.T, b string) {
			p := b + "/sparse/hole-first"
			edit(t, p, func() error { return writeAt(p, make([]byte, 4096), 0) })
		}, want: []want{{"/sparse/hole-first", "holes"}}},
		{name: "large hole filled", mutate: func(t *testing.T, b string) {
			p := b + "/sparse/large"
			edit(t, p, func() error { return writeAt(p, make([]byte, 1<<20), 8<<20) })
		}, want: []want{{"/sparse/large", "holes"}, {"/sparse/large", "allocated"}}},
		{name: "data in a hole", mutate: func(t *testing.T, b string) {
			p := b + "/sparse/all-hole"
			edit(t, p, func() error { return writeAt(p, []byte("x"), 5<<20) })
		}, want: []want{{"/sparse/all-hole", "holes"}, {"/sparse/all-hole", "content"}}},
		{name: "link group broken", mutate: func(t *testing.T, b string) {
			p := b + "/other/b"
			edit(t, p, func() error {
				data, _ := os.ReadFile(p)
				restore := keepTimes(t, p)
				os.Remove(p)
				if err := os.WriteFile(p, data, 0o644); err != nil {
					return err
				}
				restore()
				return nil
			})
		}, want: []want{{"/links/a", "hard links"}, {"/other/b", "hard links"}}},
		{name: "link group joined", mutate: func(t *testing.T, b string) {
			p := b + "/names/-dash"
			edit(t, p, func() error {
				os.Remove(p)
				return os.Link(b+"/names/.hidden", p)
			})
		}, want: []want{{"/names/-dash", "hard links"}, {"/names/.hidden", "hard links"}}},
		{name: "device number", mutate: func(t *testing.T, b string) {
			p := b + "/devs/chr"
			edit(t, p, func() error {
				restore := keepTimes(t, p)
				os.Remove(p)
				if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5))); err != nil {
					return err
				}
				restore()
				return nil
			})
		}, want: []want{{"/devs/chr", "device"}}},
		{name: "type", mutate: func(t *testing.T, b string) {
			p := b + "/devs/fifo"
			edit(t, p, func() error {
				os.Remove(p)
				return os.WriteFile(p, nil, 0o620)
			})
		}, want: []want{{"/devs/fifo", "type"}}},
		{name: "missing", mutate: func(t *testing.T, b string) {
			p := b + "/empty"
			edit(t, p, func() error { return os.Remove(p) })
		}, want: []want{{"/empty", "only in a"}}},
		{name: "missing tree reported once", mutate: func(t *testing.T, b string) {
			p := b + "/deep"
			edit(t, p, func() error { return os.RemoveAll(p) })
		}, want: []want{{"/deep", "only in a"}}},
		{name: "extra", mutate: func(t *testing.T, b string) {
			edit(t, b+"/sticky", func() error { return os.WriteFile(b+"/sticky/extra", nil, 0o644) })
		}, want: []want{{"/sticky/extra", "only in b"}}},
		{name: "ignored", mutate: func(t *testing.T, b string) {
			edit(t, b+"/sticky", func() error { return os.WriteFile(b+"/sticky/extra", nil, 0o644) })
			edit(t, b+"/many/f001", func() error { return unix.Chmod(b+"/many/f001", 0) })
		}, opt: treecmp.Options{Ignore: []string{"sticky/extra", "/many/"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := filepath.Join(mnt, "b")
			build(b)
			if tc.mutate != nil {
				tc.mutate(t, b)
			}
			diffs, err := treecmp.Compare(a, b, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			got := map[want]bool{}
			paths := map[string]bool{}
			for _, w := range tc.want {
				paths[w.path] = true
			}
			for _, d := range diffs {
				got[want{d.Path, d.What}] = true
				if !paths[d.Path] {
					t.Errorf("unexpected: %s", d)
				}
			}
			for _, w := range tc.want {
				if !got[w] {
					t.Errorf("not reported: %s %s; got %v", w.path, w.what, diffs)
				}
			}
		})
	}
}

func TestCompareDoesNotChangeWhatItCompares(t *testing.T) {
	treetest.NeedRoot(t, "setfacl", "setcap")
	mnt := treetest.Ext4(t, 256<<20, "relatime")
	a, b := filepath.Join(mnt, "a"), filepath.Join(mnt, "b")
	for _, d := range []string{a, b} {
		os.Mkdir(d, 0o755)
		if _, err := treetest.Build(d, treetest.Options{SparseSize: 8 << 20}); err != nil {
			t.Fatal(err)
		}
	}
	// On relatime, reading a symbolic link changes its access time: the
	// only thing a second comparison may see.
	for i := range 2 {
		diffs, err := treecmp.Compare(a, b, treecmp.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range diffs {
			var st unix.Stat_t
			unix.Lstat(filepath.Join(a, d.Path), &st)
			if d.What != "atime" || st.Mode&unix.S_IFMT != unix.S_IFLNK || i == 0 {
				t.Errorf("pass %d: %s", i+1, d)
			}
		}
	}
}

func TestDiffString(t *testing.T) {
	for _, tc := range []struct {
		d    treecmp.Diff
		want string
	}{
		{treecmp.Diff{Path: "/etc/x", What: "mode", A: "0644", B: "0600"}, "/etc/x: mode differs: a 0644, b 0600"},
		{treecmp.Diff{Path: "/x", What: "only in a", A: "fifo"}, "/x: only in a (fifo)"},
		{treecmp.Diff{Path: "/y", What: "only in b", B: "directory"}, "/y: only in b (directory)"},
	} {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestCompareRejectsBadIgnore(t *testing.T) {
	dir := t.TempDir()
	for _, bad := range []string{"", "../etc", "/var/../../x"} {
		if _, err := treecmp.Compare(dir, dir, treecmp.Options{Ignore: []string{bad}}); err == nil || !strings.Contains(err.Error(), "ignore") {
			t.Errorf("ignore %q: got %v, want an error", bad, err)
		}
	}
}

func TestCompareUnprivileged(t *testing.T) {
	// Plain trees in a temporary directory: what any user can compare.
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		os.MkdirAll(d+"/x/y", 0o755)
		os.WriteFile(d+"/x/y/f", []byte("same"), 0o644)
		os.Symlink("f", d+"/x/y/l")
	}
	os.WriteFile(b+"/x/y/f", []byte("diff"), 0o644)
	os.Chmod(b+"/x", 0o700)
	diffs, err := treecmp.Compare(a, b, treecmp.Options{IgnoreAtime: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range diffs {
		if d.What != "mtime" {
			got = append(got, d.Path+" "+d.What)
		}
	}
	if fmt.Sprint(got) != "[/x mode /x/y/f content]" {
		t.Errorf("got %v", diffs)
	}
}

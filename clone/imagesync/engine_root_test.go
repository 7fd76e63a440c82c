package imagesync

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/clone/copyfs"
	"github.com/drd-linux/drd/internal/treecmp"
	"github.com/drd-linux/drd/internal/treecmp/treetest"
)

// pair is a booted file system and its clone, both ext4 on loop devices,
// with the manifest the clone keeps.
type pair struct {
	t              *testing.T
	booted, clone  string
	fs             *FS
	etc            map[string][]byte
	prune, exclude []string
	skipPkg        func(string) bool
}

// newPair builds the booted tree with fill, copies it as a clone does and
// records the manifest.
func newPair(t *testing.T, fill func(root string)) *pair {
	t.Helper()
	treetest.NeedRoot(t, "setfacl", "setcap", "setfattr")
	p := &pair{t: t, booted: treetest.Ext4(t, 256<<20), clone: treetest.Ext4(t, 256<<20)}
	fill(p.booted)
	p.prune = Prune("/", nil)
	p.exclude = p.prune
	ctx := context.Background()
	if _, err := copyfs.Copy(ctx, p.booted, p.clone, copyfs.Options{Exclude: p.prune, Logf: t.Logf}); err != nil {
		t.Fatal(err)
	}
	entries, err := Record(ctx, p.booted, p.clone, p.prune)
	if err != nil {
		t.Fatal(err)
	}
	p.fs = &FS{MountPoint: "/", Entries: entries}
	if p.etc, err = ReadEtc(ctx, filepath.Join(p.clone, "etc")); err != nil {
		t.Fatal(err)
	}
	// The manifest goes through its codec, as it does on disk.
	m, err := Decode((&Manifest{FS: []FS{*p.fs}, Etc: p.etc}).Encode())
	if err != nil {
		t.Fatal(err)
	}
	p.fs, p.etc = &m.FS[0], m.Etc
	return p
}

// sync runs one sync (preview: -p) and keeps the new manifest.
func (p *pair) sync(preview bool) *Result {
	p.t.Helper()
	res := &Result{}
	entries, err := syncTree(context.Background(), Tree{MountPoint: "/", Booted: p.booted, Clone: p.clone}, p.fs, p.etc,
		treeOptions{prune: p.prune, excluded: p.exclude, skipPkg: p.skipPkg, preview: preview, logf: p.t.Logf}, res)
	if err != nil {
		p.t.Fatal(err)
	}
	res.finish()
	if !preview {
		p.fs = &FS{MountPoint: "/", Entries: entries}
	}
	p.t.Logf("copied %v deleted %v merged %v conflicts %v", res.Copied, res.Deleted, res.Merged, res.Conflicts)
	return res
}

// same fails for every difference of the two trees but the listed paths.
func (p *pair) same(ignore ...string) {
	p.t.Helper()
	diffs, err := treecmp.Compare(p.booted, p.clone, treecmp.Options{IgnoreAtime: true, Ignore: append([]string{"/tmp", "/var/tmp", "/var/opt/drd", "/etc/fstab", "/lost+found"}, ignore...)})
	if err != nil {
		p.t.Fatal(err)
	}
	for _, d := range diffs {
		p.t.Errorf("clone differs: %s", d)
	}
}

func sh(t *testing.T, dir, script string) {
	t.Helper()
	cmd := exec.Command("sh", "-ec", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func fillTree(t *testing.T) func(string) {
	return func(root string) {
		if _, err := treetest.Build(root, treetest.Options{SparseSize: 64 << 20}); err != nil {
			t.Fatal(err)
		}
		sh(t, root, `mkdir -p etc tmp var/tmp var/log gone/sub typed/d
			printf 'root:x:0:0:root:/root:/bin/sh\n' > etc/passwd
			printf 'welcome\n' > etc/motd
			printf 'log 1\n' > var/log/syslog
			echo a > gone/sub/f; echo b > gone/g
			echo file > typed/f; echo in > typed/d/x; ln -s somewhere typed/l
			echo keep > tmp/scratch
			dd if=/dev/urandom of=var/log/rotate bs=1k count=40 2>/dev/null`)
	}
}

// TestSyncBootedChanges: every kind of change made on the booted side
// only is copied exactly, renames move the clone's file, and a sync with
// nothing new copies nothing.
func TestSyncBootedChanges(t *testing.T) {
	p := newPair(t, fillTree(t))
	p.same()
	rotated := inode(t, filepath.Join(p.clone, "var/log/rotate"))
	sh(t, p.booted, `
		echo 'log 2' >> var/log/syslog                       # content
		chmod 0600 many/f001                                 # mode only
		chown 77:88 many/f002                                # owner only
		setfattr -n user.new -v value many/f003              # attribute only
		setfacl -m u:1234:r many/f004                        # ACL
		setcap cap_net_raw+ep many/f005                      # capability
		touch -m -d '2001-02-03 04:05:06.123456789' many/f006 # mtime only
		mkdir -p new/dir && echo x > new/dir/file && chmod 2750 new/dir
		rm -r gone                                           # a tree deleted
		rm many/f010
		mv var/log/rotate var/log/rotate.1                   # rename
		rm typed/f && mkdir -p typed/f/sub && echo inner > typed/f/y && echo z > typed/f/sub/z # file -> dir
		rm -r typed/d && echo nowfile > typed/d              # dir -> file
		rm typed/l && echo notalink > typed/l                # link -> file
		ln -sf elsewhere symlinks/relative                   # link target
		ln many/f020 links/new-hard                          # a new name of a file
		ln links/a links/a2                                  # a third name of a group
		truncate -s 8M sparse/new && printf x | dd of=sparse/new bs=1 seek=4M conv=notrunc 2>/dev/null
		mknod devs/chr2 c 1 3 && mkfifo devs/fifo2
		chmod 0700 deep                                      # directory mode
		echo new > tmp/scratch2                              # never synced
	`)
	res := p.sync(false)
	p.same()
	if got := inode(t, filepath.Join(p.clone, "var/log/rotate.1")); got != rotated {
		t.Errorf("the renamed file was copied (inode %d), not moved (inode %d)", got, rotated)
	}
	if !slices.Contains(res.Deleted, "/var/log/rotate") || !slices.Contains(res.Copied, "/var/log/rotate.1") {
		t.Errorf("rename not listed: copied %v deleted %v", res.Copied, res.Deleted)
	}
	if _, err := os.Lstat(filepath.Join(p.clone, "tmp/scratch2")); err == nil {
		t.Error("/tmp was synced")
	}
	if !slices.Contains(res.Excluded, "/tmp") {
		t.Errorf("excluded: %v", res.Excluded)
	}
	if len(res.Conflicts) != 0 {
		t.Errorf("conflicts: %v", res.Conflicts)
	}
	for _, want := range []string{"/var/log/syslog", "/many/f001", "/many/f002", "/many/f003", "/many/f004", "/many/f005", "/many/f006", "/new/dir/file", "/typed/f/y", "/typed/f/sub/z", "/typed/d", "/links/a2"} {
		if !slices.Contains(res.Copied, want) {
			t.Errorf("%s not in copied", want)
		}
	}
	for _, want := range []string{"/gone", "/gone/sub/f", "/many/f010", "/typed/d/x"} {
		if !slices.Contains(res.Deleted, want) {
			t.Errorf("%s not in deleted", want)
		}
	}
	// Nothing new: nothing copied.
	again := p.sync(false)
	if len(again.Copied)+len(again.Deleted)+len(again.Conflicts) != 0 {
		t.Errorf("a sync with no change did work: copied %v deleted %v conflicts %v", again.Copied, again.Deleted, again.Conflicts)
	}
	// A change after a sync is caught by the next one.
	sh(t, p.booted, `echo 'log 3' >> var/log/syslog; chmod 0640 many/f001`)
	third := p.sync(false)
	p.same()
	if len(third.Copied) != 2 {
		t.Errorf("third sync copied %v, want syslog and f001", third.Copied)
	}
}

// TestSyncConflicts: the clone's own changes are never overwritten; an
// entry changed on both sides is a conflict with the booted version
// beside; conflicts stay until resolved.
func TestSyncConflicts(t *testing.T) {
	p := newPair(t, fillTree(t))
	// runcmd's changes in the clone:
	sh(t, p.clone, `
		echo clone > many/f001          # both change it
		rm many/f002                    # the booted side changes it
		echo clone > many/f003          # the booted side deletes it
		echo same > added-both-same     # both add it, the same
		echo clone > added-both-diff    # both add it, differently
		echo clone-only > many/f004     # only the clone changes it
		touch -d '2001-01-01 00:00:00' added-both-same`)
	sh(t, p.booted, `
		echo booted > many/f001
		echo booted > many/f002
		rm many/f003
		echo same > added-both-same
		echo booted > added-both-diff
		touch -d '2001-01-01 00:00:00' added-both-same
		echo booted-only > many/f005`)
	res := p.sync(false)
	want := map[string]string{
		"/many/f001":       whyBoth,
		"/many/f002":       whyDeletedClone,
		"/many/f003":       whyDeletedBoot,
		"/added-both-diff": whyBothAdded,
	}
	if len(res.Conflicts) != len(want) {
		t.Errorf("conflicts %v, want %v", res.Conflicts, want)
	}
	for _, c := range res.Conflicts {
		if want[c.Path] != c.Reason {
			t.Errorf("conflict %s: %q, want %q", c.Path, c.Reason, want[c.Path])
		}
	}
	for f, content := range map[string]string{
		"many/f001": "clone\n", "many/f001.drd-booted": "booted\n", "many/f002.drd-booted": "booted\n",
		"many/f003": "clone\n", "added-both-diff": "clone\n", "added-both-diff.drd-booted": "booted\n",
		"many/f004": "clone-only\n", "many/f005": "booted-only\n", "added-both-same": "same\n",
	} {
		if got := read(t, filepath.Join(p.clone, f)); got != content {
			t.Errorf("clone's %s: %q, want %q", f, got, content)
		}
	}
	if _, err := os.Lstat(filepath.Join(p.clone, "many/f002")); err == nil {
		t.Error("the file the clone deleted came back")
	}
	// Unresolved: listed again, nothing else.
	again := p.sync(false)
	if len(again.Conflicts) != len(want) {
		t.Errorf("second sync: conflicts %v, want the same %d", again.Conflicts, len(want))
	}
	// Resolved: the .drd-booted file removed (clone wins); f003 by
	// changing the clone's entry.
	os.Remove(filepath.Join(p.clone, "many/f001.drd-booted"))
	os.Remove(filepath.Join(p.clone, "many/f003"))
	third := p.sync(false)
	for _, c := range third.Conflicts {
		if c.Path == "/many/f001" || c.Path == "/many/f003" {
			t.Errorf("resolved conflict listed again: %v", c)
		}
	}
	if len(third.Conflicts) != 2 {
		t.Errorf("third sync: conflicts %v, want f002 and added-both-diff", third.Conflicts)
	}
	if got := read(t, filepath.Join(p.clone, "many/f001")); got != "clone\n" {
		t.Errorf("clone's resolved f001: %q", got)
	}
	// A later booted change to the resolved file is a conflict again
	// (the clone's version is its own).
	sh(t, p.booted, `echo booted2 > many/f001`)
	fourth := p.sync(false)
	if !slices.ContainsFunc(fourth.Conflicts, func(c Conflict) bool { return c.Path == "/many/f001" }) {
		t.Errorf("a booted change to a file the clone owns is no conflict: %v", fourth.Conflicts)
	}
}

// TestSyncEtcMerge: /etc files changed on both sides are merged: the
// account files entry by entry, text by line; overlapping edits are a
// conflict.
func TestSyncEtcMerge(t *testing.T) {
	p := newPair(t, func(root string) {
		sh(t, root, `mkdir -p etc
			printf 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n' > etc/passwd
			printf 'line 1\nline 2\nline 3\nline 4\nline 5\n' > etc/motd
			printf 'a=1\n' > etc/app.conf`)
	})
	sh(t, p.clone, `
		echo '_pkg:x:100:65534::/nonexistent:/usr/sbin/nologin' >> etc/passwd
		sed -i 's/line 1/line one (clone)/' etc/motd
		echo 'a=clone' > etc/app.conf`)
	sh(t, p.booted, `
		echo 'alice:x:1000:1000:Alice:/home/alice:/bin/bash' >> etc/passwd
		sed -i 's/line 5/line five (booted)/' etc/motd
		echo 'a=booted' > etc/app.conf`)
	res := p.sync(false)
	if !slices.Equal(res.Merged, []string{"/etc/motd", "/etc/passwd"}) {
		t.Errorf("merged %v", res.Merged)
	}
	pw := read(t, filepath.Join(p.clone, "etc/passwd"))
	if !strings.Contains(pw, "_pkg:x:100") || !strings.Contains(pw, "alice:x:1000") {
		t.Errorf("merged passwd:\n%s", pw)
	}
	if got := read(t, filepath.Join(p.clone, "etc/motd")); got != "line one (clone)\nline 2\nline 3\nline 4\nline five (booted)\n" {
		t.Errorf("merged motd:\n%s", got)
	}
	if len(res.Conflicts) != 1 || res.Conflicts[0].Path != "/etc/app.conf" {
		t.Errorf("conflicts %v, want /etc/app.conf", res.Conflicts)
	}
	if got := read(t, filepath.Join(p.clone, "etc/app.conf.drd-booted")); got != "a=booted\n" {
		t.Errorf("app.conf.drd-booted: %q", got)
	}
	// A second booted edit merges against the last sync's base.
	sh(t, p.booted, `echo 'bob:x:1001:1001::/home/bob:/bin/sh' >> etc/passwd`)
	res = p.sync(false)
	pw = read(t, filepath.Join(p.clone, "etc/passwd"))
	if !slices.Contains(res.Merged, "/etc/passwd") || !strings.Contains(pw, "bob:x:1001") || !strings.Contains(pw, "_pkg:x:100") || strings.Count(pw, "alice:x") != 1 {
		t.Errorf("second merge (%v):\n%s", res.Merged, pw)
	}
}

// TestSyncPreviewWritesNothing: -p lists what a sync would do and leaves
// every entry of the clone as it was, status change times included.
func TestSyncPreviewWritesNothing(t *testing.T) {
	p := newPair(t, fillTree(t))
	sh(t, p.clone, `echo clone > many/f001`)
	sh(t, p.booted, `echo booted > many/f001; echo new > many/new; rm many/f002; mkdir newdir; echo 'log 2' >> var/log/syslog`)
	before := snapshot(t, p.clone)
	res := p.sync(true)
	if after := snapshot(t, p.clone); !slices.Equal(before, after) {
		t.Error("the preview changed the clone")
	}
	if !slices.Contains(res.Copied, "/many/new") || !slices.Contains(res.Deleted, "/many/f002") || len(res.Conflicts) != 1 {
		t.Errorf("preview lists: copied %v deleted %v conflicts %v", res.Copied, res.Deleted, res.Conflicts)
	}
}

// snapshot lists every entry of a tree with its full status.
func snapshot(t *testing.T, root string) []string {
	var out []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(p, st.Mode, st.Ino, st.Size, st.Ctim, st.Mtim, st.Nlink))
		return nil
	})
	return out
}

// TestSyncExcludesAndPackages: excluded paths and the files of packages
// changed on the booted image are left as the clone has them.
func TestSyncExcludesAndPackages(t *testing.T) {
	p := newPair(t, fillTree(t))
	p.prune = append(p.prune, "srv-data")
	p.exclude = p.prune
	sh(t, p.booted, `mkdir srv-data && echo x > srv-data/f; echo pkg > many/f030; echo other > many/f031`)
	p.skipPkg = func(img string) bool { return img == "/many/f030" }
	res := p.sync(false)
	if _, err := os.Lstat(filepath.Join(p.clone, "srv-data")); err == nil {
		t.Error("an excluded directory was synced")
	}
	if !slices.Contains(res.Excluded, "/srv-data") {
		t.Errorf("excluded %v", res.Excluded)
	}
	if got := read(t, filepath.Join(p.clone, "many/f030")); got == "pkg\n" {
		t.Error("a changed package's file was synced")
	}
	if got := read(t, filepath.Join(p.clone, "many/f031")); got != "other\n" {
		t.Errorf("f031 not synced: %q", got)
	}
	// Once the package is no longer a reason, the file comes.
	p.skipPkg = nil
	p.sync(false)
	if got := read(t, filepath.Join(p.clone, "many/f030")); got != "pkg\n" {
		t.Errorf("f030 after the package: %q", got)
	}
}

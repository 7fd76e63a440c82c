// Command benchsync times drd sync (clone/imagesync) against rsync
// -aHAXS --numeric-ids --delete bringing the same few hundred changes of
// every kind into a copy of a Debian root, each from a cold cache, in the
// same run; then both again with no change. scripts/bench-sync builds and
// runs it as root.
//
// The Debian root is scripts/bench-clone's cached tree (debootstrap
// minbase and a small server's packages, about 30,000 entries), in
// /var/tmp/drd-bench: bench-sync builds it with bench-clone when it is
// missing. Everything else lives in image files there too, attached to
// loop devices, removed at the end: the machine's own disks are written
// only through those files.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/clone/copyfs"
	"github.com/drd-linux/drd/clone/imagesync"
)

// The recipe of bench-clone's Debian tree: the same string names the same
// cached image.
const (
	mirror      = "http://deb.debian.org/debian"
	debianExtra = "systemd-sysv,openssh-server,linux-image-amd64,python3,perl,locales,man-db,iproute2,less,vim-tiny,ca-certificates"
	recipe      = "v2 debootstrap --variant=minbase --include=" + debianExtra + " bookworm " + mirror
)

func main() {
	dir := flag.String("dir", "/var/tmp/drd-bench", "where the image files live")
	changes := flag.Int("changes", 40, "changes of each of the 10 kinds of file changes; a quarter as many directory renames")
	flag.Parse()
	if err := run(context.Background(), *dir, *changes); err != nil {
		fmt.Fprintln(os.Stderr, "benchsync:", err)
		os.Exit(1)
	}
}

func sh(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

type fsImg struct{ img, dev, mnt string }

func attach(img, mnt string) (*fsImg, error) {
	out, err := exec.Command("losetup", "--find", "--show", "--direct-io=on", img).Output()
	if err != nil {
		return nil, fmt.Errorf("losetup %s: %w", img, err)
	}
	f := &fsImg{img: img, dev: strings.TrimSpace(string(out)), mnt: mnt}
	os.MkdirAll(mnt, 0o755)
	if err := sh("mount", "-o", "noatime", f.dev, mnt); err != nil {
		sh("losetup", "-d", f.dev)
		return nil, err
	}
	return f, nil
}

func (f *fsImg) close() {
	if err := sh("umount", f.mnt); err != nil {
		sh("umount", "-l", f.mnt)
	}
	sh("losetup", "-d", f.dev)
	os.Remove(f.img)
}

func fresh(img, mnt string, size int64) (*fsImg, error) {
	os.Remove(img)
	f, err := os.Create(img)
	if err != nil {
		return nil, err
	}
	f.Truncate(size)
	f.Close()
	if err := sh("mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", img); err != nil {
		return nil, err
	}
	return attach(img, mnt)
}

func dropCaches() error {
	unix.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200)
}

func run(ctx context.Context, dir string, n int) error {
	sum := sha256.Sum256([]byte(recipe))
	src := filepath.Join(dir, "debian-"+hex.EncodeToString(sum[:6])+".img")
	for {
		if _, err := os.Stat(src); err == nil {
			break
		}
		if _, err := os.Stat(src + ".tmp"); err != nil {
			fmt.Fprintln(os.Stderr, "building the Debian tree with scripts/bench-clone (once; cached)")
			if err := sh("scripts/bench-clone", "-trees", "debian", "-methods", "floor", "-verify=false"); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(os.Stderr, "waiting for another build of", src)
		time.Sleep(20 * time.Second)
	}
	work := filepath.Join(dir, "sync")
	os.MkdirAll(work, 0o755)
	booted := filepath.Join(work, "booted.img")
	if err := sh("cp", "--sparse=always", src, booted); err != nil {
		return err
	}
	b, err := attach(booted, filepath.Join(work, "mnt/booted"))
	if err != nil {
		return err
	}
	defer b.close()
	c, err := fresh(filepath.Join(work, "clone.img"), filepath.Join(work, "mnt/clone"), 4<<30)
	if err != nil {
		return err
	}
	defer c.close()
	r, err := fresh(filepath.Join(work, "rsync.img"), filepath.Join(work, "mnt/rsync"), 4<<30)
	if err != nil {
		return err
	}
	defer r.close()

	prune := imagesync.Prune("/", nil)
	for _, t := range []string{c.mnt, r.mnt} {
		if _, err := copyfs.Copy(ctx, b.mnt, t, copyfs.Options{Exclude: prune}); err != nil {
			return err
		}
	}
	if err := dropCaches(); err != nil {
		return err
	}
	start := time.Now()
	entries, err := imagesync.Record(ctx, b.mnt, c.mnt, prune)
	if err != nil {
		return err
	}
	recorded := time.Since(start)
	manifest := (&imagesync.Manifest{FS: []imagesync.FS{{MountPoint: "/", Entries: entries}}}).Encode()
	old := &imagesync.FS{MountPoint: "/", Entries: entries}
	etc, err := imagesync.ReadEtc(ctx, filepath.Join(c.mnt, "etc"))
	if err != nil {
		return err
	}
	// rsync leaves the never-synced paths out too.
	var rex []string
	for _, p := range prune {
		rex = append(rex, "--exclude=/"+p+"/***", "--exclude=/"+p)
	}
	fmt.Printf("Debian root: %d entries; manifest %d bytes, recorded at clone time in %s (cold cache)\n", len(entries), len(manifest), recorded.Round(time.Millisecond))
	made, err := change(b.mnt, n, renameCandidates(b.mnt))
	if err != nil {
		return err
	}
	renamed, below, err := renameDirs(b.mnt, n/4)
	if err != nil {
		return err
	}
	fmt.Printf("changes on the booted side: %d (10 kinds), and %d directories renamed (%d entries below them)\n", made, renamed, below)

	timeSync := func() (time.Duration, *imagesync.Result, error) {
		if err := dropCaches(); err != nil {
			return 0, nil, err
		}
		res := &imagesync.Result{}
		start := time.Now()
		ents, err := imagesync.SyncTree(ctx, imagesync.Tree{MountPoint: "/", Booted: b.mnt, Clone: c.mnt}, old, etc, prune, res)
		d := time.Since(start)
		old = &imagesync.FS{MountPoint: "/", Entries: ents}
		return d, res, err
	}
	timeRsync := func() (time.Duration, error) {
		if err := dropCaches(); err != nil {
			return 0, err
		}
		start := time.Now()
		args := append([]string{"-aHAXS", "--numeric-ids", "--delete"}, rex...)
		err := sh("rsync", append(args, b.mnt+"/", r.mnt+"/")...)
		unix.Sync()
		return time.Since(start), err
	}
	ds, res, err := timeSync()
	if err != nil {
		return err
	}
	dr, err := timeRsync()
	if err != nil {
		return err
	}
	fmt.Printf("\n%-28s %10s %10s %8s\n", "", "drd sync", "rsync", "ratio")
	fmt.Printf("%-28s %10s %10s %8.2f   (copied %d, deleted %d, conflicts %d, checked %d)\n", "changes, cold cache",
		ds.Round(time.Millisecond), dr.Round(time.Millisecond), ds.Seconds()/dr.Seconds(), res.Counts.Copied, res.Counts.Deleted, res.Counts.Conflicts, res.Counts.Checked)
	ds, res, err = timeSync()
	if err != nil {
		return err
	}
	dr, err = timeRsync()
	if err != nil {
		return err
	}
	fmt.Printf("%-28s %10s %10s %8.2f   (copied %d)\n", "no change, cold cache",
		ds.Round(time.Millisecond), dr.Round(time.Millisecond), ds.Seconds()/dr.Seconds(), res.Counts.Copied)
	return nil
}

// renameCandidates are the directories of /usr/share/doc,
// /usr/share/locale, /usr/share/zoneinfo, Perl's and Python's libraries
// (what a package upgrade or an administrator renames whole, from a few
// entries to a few hundred), left alone by the file changes so that
// each is a clean rename.
func renameCandidates(root string) []string {
	var dirs []string
	for _, parent := range []string{"usr/share/doc", "usr/share/locale", "usr/share/zoneinfo", "usr/share/perl/5.36", "usr/lib/python3.11"} {
		ents, _ := os.ReadDir(filepath.Join(root, parent))
		for _, e := range ents {
			if e.IsDir() {
				dirs = append(dirs, filepath.Join(root, parent, e.Name()))
			}
		}
	}
	rnd := rand.New(rand.NewPCG(11, 17))
	rnd.Shuffle(len(dirs), func(i, j int) { dirs[i], dirs[j] = dirs[j], dirs[i] })
	return dirs
}

// renameDirs renames the first n of renameCandidates; it returns how many
// and the entries below them.
func renameDirs(root string, n int) (int, int, error) {
	dirs := renameCandidates(root)
	if len(dirs) < n {
		return 0, 0, fmt.Errorf("only %d directories to rename", len(dirs))
	}
	below := 0
	for _, d := range dirs[:n] {
		filepath.Walk(d, func(string, os.FileInfo, error) error { below++; return nil })
		below-- // d itself
		if err := os.Rename(d, d+".renamed"); err != nil {
			return 0, 0, err
		}
	}
	return n, below, nil
}

// change makes n changes of each of ten kinds in the tree at root, chosen
// by a fixed seed among its regular files outside the directories in
// keep: appends, rewrites, chmod, chown, xattrs, new files, deletions,
// renames, new directories, links.
func change(root string, n int, keep []string) (int, error) {
	var files []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && !strings.Contains(p, "/var/lib/dpkg/") && !strings.Contains(p, "/var/cache/apt/") && !within(p, keep) {
			files = append(files, p)
		}
		return nil
	})
	rnd := rand.New(rand.NewPCG(7, 13))
	rnd.Shuffle(len(files), func(i, j int) { files[i], files[j] = files[j], files[i] })
	if len(files) < 8*n {
		return 0, fmt.Errorf("only %d files", len(files))
	}
	pick := func() string { f := files[0]; files = files[1:]; return f }
	made := 0
	do := func(err error) error {
		if err == nil {
			made++
		}
		return err
	}
	for i := range n {
		f, err := os.OpenFile(pick(), os.O_APPEND|os.O_WRONLY, 0)
		if err == nil {
			fmt.Fprintf(f, "# change %d\n", i)
			f.Close()
			made++
		}
		if err := do(os.WriteFile(pick(), []byte(fmt.Sprintf("rewritten %d\n", i)), 0o644)); err != nil {
			return made, err
		}
		if err := do(os.Chmod(pick(), 0o600)); err != nil {
			return made, err
		}
		if err := do(os.Lchown(pick(), 1000+i, 1000)); err != nil {
			return made, err
		}
		if err := do(unix.Lsetxattr(pick(), "user.bench", []byte("v"), 0)); err != nil {
			return made, err
		}
		if err := do(os.WriteFile(filepath.Join(root, "var/log", fmt.Sprintf("bench-new-%d.log", i)), []byte("new\n"), 0o640)); err != nil {
			return made, err
		}
		if err := do(os.Remove(pick())); err != nil {
			return made, err
		}
		p := pick()
		if err := do(os.Rename(p, p+".renamed")); err != nil {
			return made, err
		}
		d := filepath.Join(root, "srv", fmt.Sprintf("bench-dir-%d", i))
		os.MkdirAll(d, 0o755)
		if err := do(os.WriteFile(filepath.Join(d, "f"), []byte("x\n"), 0o644)); err != nil {
			return made, err
		}
		if err := do(os.Link(pick(), filepath.Join(root, "srv", fmt.Sprintf("bench-link-%d", i)))); err != nil {
			return made, err
		}
	}
	return made, nil
}

func within(p string, dirs []string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

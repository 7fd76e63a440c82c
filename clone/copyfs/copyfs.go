// Package copyfs copies one file system tree exactly, fast: the copy engine
// of a clone.
//
// Copy fills an empty target from a source tree; Sync, a second pass, brings
// the target back to equal the source after the source changed while Copy
// ran. Both reproduce every kind of entry (regular files with their holes,
// hard links, symbolic links, device nodes, fifos; sockets are skipped), with
// owners by number, modes with setuid/setgid/sticky, every extended attribute
// (POSIX ACLs and file capabilities included) and nanosecond times. Neither
// crosses into another file system mounted inside the source.
//
// The work runs on a bounded pool of goroutines: directories are read and
// files copied in parallel, relative to open directory descriptors, with
// copy_file_range, sendfile or big reads and writes. Nothing is fsync'ed:
// call SyncFS once on the target when done.
package copyfs

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"
)

// Options of a Copy or a Sync.
type Options struct {
	// Exclude lists paths relative to the source ("/var/tmp",
	// "var/cache/apt/archives"). An excluded directory is kept, with its
	// metadata, and its contents are left out; any other excluded entry is
	// left out.
	Exclude []string
	// Workers is the number of goroutines doing the work; 0 picks a default
	// suited to the CPU count and to keeping the disk busy.
	Workers int
	// Progress, if set, is called about four times a second from one
	// goroutine, and once at the end.
	Progress func(Stats)
	// Logf, if set, receives notes: sockets skipped, entries that vanished
	// or changed while being copied, mount points not crossed.
	Logf func(format string, args ...any)
}

// Stats counts the work done. For Copy, every entry copied; for Sync, the
// entries it caught: created, replaced, updated or removed.
type Stats struct {
	Entries        int64 // entries copied (Copy) or caught (Sync)
	Files          int64 // regular files (one per inode)
	Dirs           int64
	Symlinks       int64
	HardLinks      int64 // names linked to an inode already copied
	Devices        int64 // character and block devices
	Fifos          int64
	SocketsSkipped int64
	Removed        int64 // entries removed from the target (Sync)
	Bytes          int64 // data bytes copied (holes are not counted)
	Checked        int64 // entries of the source examined
}

// Copy copies the tree at src into the empty directory dst (normally the
// root of a freshly made file system). src should be a non-recursive bind
// mount of the source file system, mounted noatime so that reading symbolic
// links does not change their access times; entries on another device than
// src are mount points and are copied as empty directories.
//
// It returns ctx.Err() when ctx is cancelled, and an error matching
// ErrTargetFull when the target runs out of space.
func Copy(ctx context.Context, src, dst string, opt Options) (Stats, error) {
	return run(ctx, src, dst, opt, false)
}

// Sync is the second, incremental pass after Copy: it brings dst back to
// equal src. It copies entries that are new or changed (type, size,
// modification time, owner, mode, extended attributes, symbolic link target,
// device number, or a status change time at or after the target's copy was
// made), removes entries gone from src, and re-forms hard-link groups. Its
// Stats count what it caught.
func Sync(ctx context.Context, src, dst string, opt Options) (Stats, error) {
	return run(ctx, src, dst, opt, true)
}

// SyncFS writes the file system that holds dir to disk (syncfs(2)): the one
// flush a copy needs, instead of one fsync per file.
func SyncFS(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("syncing the file system of %s: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		if isFull(err) {
			return &fullError{path: dir, err: err}
		}
		return fmt.Errorf("syncing the file system of %s: %w (check the disk and the kernel log)", dir, err)
	}
	return nil
}

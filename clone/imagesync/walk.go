package imagesync

import (
	"context"
	"errors"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/clone/copyfs"
)

// stat is one entry of a walk: its path relative to the walked tree and
// its status (never followed).
type stat struct {
	rel string
	st  unix.Stat_t
}

// walkDir is one directory the walk read: its open descriptor (valid only
// during the callback) and its entries.
type walkDir struct {
	rel  string
	fd   int
	ents []stat
}

// walker lists a tree in parallel, directory by directory, resolving
// every directory below the root's descriptor without following a link
// or crossing into another file system (openat2 RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV), and never descends into another
// file system mounted inside.
type walker struct {
	root  int
	dev   uint64
	prune func(rel string) bool // its contents are not listed
	// each is called once per directory, from several goroutines.
	each func(d *walkDir) error
	// changed is called for a directory that could not be listed because
	// it changed under the walk (vanished, or became a link or a file).
	changed func(rel string)
}

// openDir opens the directory rel below root, following nothing.
func openDir(root int, rel string) (int, error) {
	if rel == "" {
		return unix.Openat(root, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	}
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC | unix.O_NOFOLLOW | unix.O_NOATIME,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_XDEV,
	}
	for {
		fd, err := unix.Openat2(root, rel, &how)
		switch err {
		case unix.EAGAIN, unix.EINTR:
			continue
		case unix.EPERM:
			if how.Flags&unix.O_NOATIME != 0 {
				how.Flags &^= unix.O_NOATIME // not the owner and no CAP_FOWNER
				continue
			}
		}
		return fd, err
	}
}

// changedUnder tells whether an error opening or reading an entry means
// that it changed while drd looked (vanished, replaced by a link or by
// another type, moved onto another file system).
func changedUnder(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV)
}

// run walks the tree; the root itself is the first entry of the first
// directory's callback's parent: callers stat it on their own.
func (w *walker) run(ctx context.Context, workers int) error {
	var st unix.Stat_t
	if err := unix.Fstat(w.root, &st); err != nil {
		return err
	}
	w.dev = st.Dev
	if workers <= 0 {
		workers = min(max(8*runtime.NumCPU(), 16), 64)
	}
	type job struct {
		rel string
		ino uint64
	}
	var (
		mu       sync.Mutex
		cond     = sync.NewCond(&mu)
		queue    = []job{{"", st.Ino}}
		busy     int
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		cond.Broadcast()
		mu.Unlock()
	}
	stop := context.AfterFunc(ctx, func() { fail(ctx.Err()) })
	defer stop()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			for {
				mu.Lock()
				for len(queue) == 0 && busy > 0 && firstErr == nil {
					cond.Wait()
				}
				if firstErr != nil || len(queue) == 0 {
					cond.Broadcast()
					mu.Unlock()
					return
				}
				j := queue[len(queue)-1]
				queue = queue[:len(queue)-1]
				busy++
				mu.Unlock()

				subs, err := w.one(j.rel, j.ino, buf)
				mu.Lock()
				busy--
				for _, s := range subs {
					queue = append(queue, job{s.rel, s.st.Ino})
				}
				cond.Broadcast()
				mu.Unlock()
				if err != nil {
					fail(err)
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// one lists the directory rel (inode ino as its parent saw it) and returns
// its subdirectories to walk.
func (w *walker) one(rel string, ino uint64, buf []byte) ([]stat, error) {
	fd, err := openDir(w.root, rel)
	if err != nil {
		if changedUnder(err) {
			w.changed(rel)
			return nil, nil
		}
		return nil, &os.PathError{Op: "opening the directory", Path: rel, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "examining", Path: rel, Err: err}
	}
	if st.Ino != ino || st.Dev != w.dev {
		w.changed(rel)
		return nil, nil
	}
	names, err := copyfs.ReadNames(fd, buf)
	if err != nil {
		if changedUnder(err) { // removed after it was opened: as it is now
			w.changed(rel)
			return nil, nil
		}
		return nil, &os.PathError{Op: "reading the directory", Path: rel, Err: err}
	}
	d := &walkDir{rel: rel, fd: fd, ents: make([]stat, 0, len(names))}
	for _, name := range names {
		var s stat
		s.rel = joinRel(rel, name)
		if err := unix.Fstatat(fd, name, &s.st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if changedUnder(err) {
				continue // gone meanwhile: as it is now
			}
			return nil, &os.PathError{Op: "examining", Path: s.rel, Err: err}
		}
		d.ents = append(d.ents, s)
	}
	if err := w.each(d); err != nil {
		return nil, err
	}
	var subs []stat
	for _, s := range d.ents {
		if s.st.Mode&unix.S_IFMT == unix.S_IFDIR && s.st.Dev == w.dev && (w.prune == nil || !w.prune(s.rel)) {
			subs = append(subs, s)
		}
	}
	return subs, nil
}

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// typeOf maps st_mode to a manifest type; TypeNone for a socket.
func typeOf(mode uint32) uint8 {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return TypeReg
	case unix.S_IFDIR:
		return TypeDir
	case unix.S_IFLNK:
		return TypeLink
	case unix.S_IFCHR:
		return TypeChar
	case unix.S_IFBLK:
		return TypeBlock
	case unix.S_IFIFO:
		return TypeFifo
	}
	return TypeNone
}

func ns(t unix.Timespec) int64 { return t.Sec*1e9 + t.Nsec }

// identOf is the identity of an entry from its status.
func identOf(st *unix.Stat_t) Ident {
	return Ident{Type: typeOf(st.Mode), Ino: st.Ino, Size: st.Size, Mtime: ns(st.Mtim), Ctime: ns(st.Ctim)}
}

// sortStats sorts a walk's entries by path.
func sortStats(ss []stat) {
	sort.Slice(ss, func(i, j int) bool { return ss[i].rel < ss[j].rel })
}

// procPath names the entry name of the open directory dirfd for the
// path-only calls (l*xattr), through /proc/self/fd: resolved from the
// descriptor, never through a path someone could change.
func procPath(dirfd int, name string) string {
	return "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + name
}

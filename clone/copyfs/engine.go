package copyfs

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// engine is one Copy or Sync in progress.
type engine struct {
	ctx         context.Context // cancelled on the first error too
	opt         Options
	src, dst    string // the roots, for messages
	srcFd       int
	dstFd       int
	dev         uint64 // device of the source root: the boundary not crossed
	dstDev      uint64 // the target root, never copied into itself when it
	dstIno      uint64 // lies inside the source
	uid, gid    uint32 // who we are: fresh entries need no chown to these
	excl        excludes
	incremental bool // Sync
	umask       int  // of the process, -1 if unknown

	links linkTable // Copy: first target name of each multiply-linked source inode

	mu   sync.Mutex
	dirs []dirRecord // directories whose metadata is set at the end
	recs []linkRec   // Sync: names of multiply-linked inodes
	err  error       // the first error

	cancel context.CancelFunc
	st     counters
	cfr    atomic.Int32 // copy_file_range from src to dst: 0 untried, 1 works, -1 refused
	sendf  atomic.Int32 // sendfile from src to dst: 0 untried, 1 works, -1 refused
	direct atomic.Int32 // O_DIRECT reads of the source: 0 untried, -1 refused
}

// dirRecord is a directory of the target and the metadata it must end with.
type dirRecord struct {
	rel string
	a   attrs
}

// counters are the live Stats.
type counters struct {
	entries, files, dirs, symlinks, hardLinks, devices, fifos, sockets, removed, bytes, checked atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Entries: c.entries.Load(), Files: c.files.Load(), Dirs: c.dirs.Load(),
		Symlinks: c.symlinks.Load(), HardLinks: c.hardLinks.Load(), Devices: c.devices.Load(),
		Fifos: c.fifos.Load(), SocketsSkipped: c.sockets.Load(), Removed: c.removed.Load(),
		Bytes: c.bytes.Load(), Checked: c.checked.Load(),
	}
}

// defaultWorkers is the pool size when Options.Workers is 0. The work is
// mostly waiting for the disk (a cold cache, small files), so the pool is
// several times the CPU count: enough requests in flight to keep the device
// queue full, few enough not to thrash two cores.
func defaultWorkers() int {
	n := 8 * runtime.NumCPU()
	return min(max(n, 16), 64)
}

// worker is the scratch space of one goroutine of the pool.
type worker struct {
	data  []byte // file data
	dents []byte // getdents batches
	xbuf  []byte // extended attributes, link targets
	q     *queue // where jobs add jobs
}

func newWorker() *worker {
	return &worker{data: make([]byte, 1<<20), dents: make([]byte, 256<<10), xbuf: make([]byte, 4096)}
}

// job is a unit of work for the pool.
type job func(w *worker) error

func run(ctx context.Context, src, dst string, opt Options, incremental bool) (Stats, error) {
	excl, err := parseExcludes(opt.Exclude)
	if err != nil {
		return Stats{}, err
	}
	srcFd, err := unix.Open(src, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Stats{}, fmt.Errorf("opening the source %s: %w", src, err)
	}
	defer unix.Close(srcFd)
	dstFd, err := unix.Open(dst, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Stats{}, fmt.Errorf("opening the target %s: %w", dst, err)
	}
	defer unix.Close(dstFd)
	var st, dt unix.Stat_t
	if err := unix.Fstat(srcFd, &st); err != nil {
		return Stats{}, fmt.Errorf("examining the source %s: %w", src, err)
	}
	if err := unix.Fstat(dstFd, &dt); err != nil {
		return Stats{}, fmt.Errorf("examining the target %s: %w", dst, err)
	}
	if st.Dev == dt.Dev && st.Ino == dt.Ino {
		return Stats{}, fmt.Errorf("copying %s to %s: source and target are the same directory", src, dst)
	}

	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	e := &engine{
		ctx: ctx2, cancel: cancel, opt: opt, src: src, dst: dst, srcFd: srcFd, dstFd: dstFd,
		dev: st.Dev, dstDev: dt.Dev, dstIno: dt.Ino, uid: uint32(os.Geteuid()), gid: uint32(os.Getegid()),
		excl: excl, incremental: incremental, umask: readUmask(),
	}
	e.links.m = make(map[uint64]*linkEntry)
	workers := opt.Workers
	if workers <= 0 {
		workers = defaultWorkers()
	}

	stopProgress := e.startProgress()
	defer stopProgress()

	// Phase 1: walk and copy (or compare and catch up).
	if incremental {
		e.pool(workers, []job{func(w *worker) error { return e.syncDir(w, "", st.Ino) }})
	} else {
		e.pool(workers, []job{func(w *worker) error { return e.copyDir(w, "", st.Ino) }})
	}
	// Phase 2 (Sync): re-form hard-link groups.
	if e.firstErr() == nil && incremental {
		if err := e.fixLinks(newWorker()); err != nil {
			e.fail(err)
		}
	}
	// Phase 3: directory metadata, once nothing is added to them any more.
	if e.firstErr() == nil {
		e.pool(workers, e.dirJobs())
	}
	stopProgress()
	if ctx.Err() != nil {
		return e.st.snapshot(), ctx.Err()
	}
	return e.st.snapshot(), e.firstErr()
}

// pool runs jobs, and the jobs they add, on n goroutines until none is left
// or the engine fails.
func (e *engine) pool(n int, jobs []job) {
	q := newQueue()
	for _, j := range jobs {
		q.push(j)
	}
	e.mu.Lock()
	failed := e.err != nil
	e.mu.Unlock()
	if failed {
		return
	}
	stop := context.AfterFunc(e.ctx, q.abort)
	defer stop()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			w := newWorker()
			w.q = q
			for {
				j, ok := q.pop()
				if !ok {
					return
				}
				if e.ctx.Err() == nil {
					if err := j(w); err != nil {
						e.fail(err)
					}
				}
				q.done()
			}
		})
	}
	wg.Wait()
}

// fail records the first error and stops the work.
func (e *engine) fail(err error) {
	e.mu.Lock()
	if e.err == nil {
		e.err = err
	}
	e.mu.Unlock()
	e.cancel()
}

func (e *engine) firstErr() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

func (e *engine) logf(format string, args ...any) {
	if e.opt.Logf != nil {
		e.opt.Logf(format, args...)
	}
}

// startProgress calls Options.Progress every 250ms until the returned
// function is called (which is safe to call twice), then once more.
func (e *engine) startProgress() func() {
	if e.opt.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				e.opt.Progress(e.st.snapshot())
			case <-done:
				e.opt.Progress(e.st.snapshot())
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			<-finished
		})
	}
}

// addDir records a directory whose metadata is set in the last phase.
func (e *engine) addDir(rel string, a attrs) {
	e.mu.Lock()
	e.dirs = append(e.dirs, dirRecord{rel: rel, a: a})
	e.mu.Unlock()
}

// dirJobs splits the recorded directories into jobs for the last phase.
func (e *engine) dirJobs() []job {
	const per = 64
	var jobs []job
	for i := 0; i < len(e.dirs); i += per {
		batch := e.dirs[i:min(i+per, len(e.dirs))]
		jobs = append(jobs, func(w *worker) error {
			for i := range batch {
				if err := e.finishDir(w, &batch[i]); err != nil {
					return err
				}
				if e.ctx.Err() != nil {
					return nil
				}
			}
			return nil
		})
	}
	return jobs
}

// finishDir gives a directory of the target its final owner, attributes
// (a default ACL only now, so that the entries created in it did not inherit
// it), mode and times. In a Sync it first checks whether anything differs.
func (e *engine) finishDir(w *worker, d *dirRecord) error {
	full := e.dstPath(d.rel)
	fd, err := openBeneath(e.dstFd, d.rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return dstError("opening the directory", full, err)
	}
	defer unix.Close(fd)
	if e.incremental {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return dstError("examining", full, err)
		}
		have, err := readMeta(&st, fd, -1, "", full, &w.xbuf)
		if err != nil {
			return dstError("reading the attributes of", full, err)
		}
		if sameAttrs(have, d.a) {
			return nil
		}
	}
	return e.setMeta(metaTarget{fd: fd, at: e.loc(d.rel)}, &d.a, e.incremental, &w.xbuf)
}

// readUmask reads the umask of the process without changing it (umask(2)
// can only set it, and it is shared by every thread), from /proc; -1 if
// it cannot be known.
func readUmask() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 8, 32)
			if err != nil {
				return -1
			}
			return int(n)
		}
	}
	return -1
}

// loc is an entry of the tree, by its path relative to the roots; its full
// paths, for messages, are only made when needed.
type loc struct {
	e   *engine
	rel string
}

func (e *engine) loc(rel string) loc { return loc{e, rel} }
func (l loc) src() string            { return l.e.srcPath(l.rel) }
func (l loc) dst() string            { return l.e.dstPath(l.rel) }

// isTarget tells whether a directory of the source is the target root.
func (e *engine) isTarget(st *unix.Stat_t) bool {
	return st.Dev == e.dstDev && st.Ino == e.dstIno
}

func (e *engine) srcPath(rel string) string { return joinPath(e.src, rel) }
func (e *engine) dstPath(rel string) string { return joinPath(e.dst, rel) }

func joinPath(root, rel string) string {
	if rel == "" {
		return root
	}
	if root == "/" {
		return "/" + rel
	}
	return root + "/" + rel
}

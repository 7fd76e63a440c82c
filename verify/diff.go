package verify

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/internal/inroot"
	"github.com/drd-linux/drd/pkgdb"
)

// DiffSkipped are paths diff never compares: file systems of the
// running system, scratch space, and drd's own records (different in
// every image by design).
var DiffSkipped = []string{"/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp", "/lost+found", "/var/opt/drd", "/var/cache/apt", "/var/lib/apt/lists", "/var/log"}

// Version is a package and its version.
type Version struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Upgrade is a package whose version changed.
type Upgrade struct {
	Name string `json:"name"`
	From string `json:"from"`
	To   string `json:"to"`
}

// PackageDiff is what changed in the packages from one image to another.
type PackageDiff struct {
	Added    []Version `json:"added"`
	Removed  []Version `json:"removed"`
	Upgraded []Upgrade `json:"upgraded"`
}

// FileDiff is what changed in the files, by path.
type FileDiff struct {
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Changed []string `json:"changed"` // type, mode, owner, link target, size or content
}

// Difference is drd diff A B.
type Difference struct {
	A        string      `json:"a"`
	B        string      `json:"b"`
	Packages PackageDiff `json:"packages"`
	Files    FileDiff    `json:"files"`
}

// DiffOptions say what two image roots are compared.
type DiffOptions struct {
	A, B string // the images' root directories
	// MountsA, MountsB are the mount points of the images' other file
	// systems (/boot, /boot/efi): the walk enters them and no others.
	MountsA, MountsB []string
	Workers          int // 0: DefaultWorkers
}

// Diff compares two images: packages from their dpkg databases (pkgdb),
// files entry by entry. Contents are read only where sizes agree and
// modification times do not.
func Diff(ctx context.Context, opt DiffOptions) (*Difference, error) {
	d := &Difference{Packages: PackageDiff{Added: []Version{}, Removed: []Version{}, Upgraded: []Upgrade{}},
		Files: FileDiff{Added: []string{}, Removed: []string{}, Changed: []string{}}}
	for _, c := range pkgdb.Diff(pkgdb.Read(opt.A), pkgdb.Read(opt.B)) {
		switch {
		case c.From == "":
			d.Packages.Added = append(d.Packages.Added, Version{c.Package, c.To})
		case c.To == "":
			d.Packages.Removed = append(d.Packages.Removed, Version{c.Package, c.From})
		default:
			d.Packages.Upgraded = append(d.Packages.Upgraded, Upgrade{c.Package, c.From, c.To})
		}
	}
	ta, err := walkTree(ctx, opt.A, opt.MountsA)
	if err != nil {
		return nil, err
	}
	tb, err := walkTree(ctx, opt.B, opt.MountsB)
	if err != nil {
		return nil, err
	}
	var toRead []string
	for p, ea := range ta {
		eb, ok := tb[p]
		switch {
		case !ok:
			d.Files.Removed = append(d.Files.Removed, p)
		case ea.differs(eb):
			d.Files.Changed = append(d.Files.Changed, p)
		case ea.mode.IsRegular() && ea.mtime != eb.mtime && ea.size > 0:
			toRead = append(toRead, p)
		}
	}
	for p := range tb {
		if _, ok := ta[p]; !ok {
			d.Files.Added = append(d.Files.Added, p)
		}
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	changed, err := differentContents(ctx, inroot.Mounts(opt.A), inroot.Mounts(opt.B), toRead, workers)
	if err != nil {
		return nil, err
	}
	d.Files.Changed = append(d.Files.Changed, changed...)
	for _, l := range [][]string{d.Files.Added, d.Files.Removed, d.Files.Changed} {
		sort.Strings(l)
	}
	return d, nil
}

// meta is what diff compares of an entry without reading it.
type meta struct {
	mode     fs.FileMode
	uid, gid uint32
	size     int64
	mtime    syscall.Timespec
	target   string
}

func (a meta) differs(b meta) bool {
	return a.mode != b.mode || a.uid != b.uid || a.gid != b.gid || a.target != b.target ||
		(a.mode.IsRegular() && a.size != b.size)
}

// walkTree reads every entry of the image at root but the skipped ones,
// without crossing into another file system than the root's and those
// mounted at mounts.
func walkTree(ctx context.Context, root string, mounts []string) (map[string]meta, error) {
	tr := inroot.Mounts(root)
	skip := map[string]bool{}
	for _, p := range DiffSkipped {
		skip[p] = true
	}
	enter := map[string]bool{"/": true}
	for _, m := range mounts {
		enter[path.Clean("/"+m)] = true
	}
	var top unix.Stat_t
	if err := unix.Stat(root, &top); err != nil {
		return nil, err
	}
	out := map[string]meta{}
	stack := []string{"/"}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dir := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ents, err := tr.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			p := path.Join(dir, e.Name())
			if skip[p] {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			st := fi.Sys().(*syscall.Stat_t)
			m := meta{mode: fi.Mode(), uid: st.Uid, gid: st.Gid, size: st.Size, mtime: st.Mtim}
			if fi.Mode()&fs.ModeSymlink != 0 {
				if m.target, err = tr.Readlink(p); err != nil {
					return nil, err
				}
			}
			if fi.Mode()&fs.ModeSocket != 0 {
				continue
			}
			out[p] = m
			if fi.IsDir() && (st.Dev == top.Dev || enter[p]) {
				stack = append(stack, p)
			}
		}
	}
	return out, nil
}

// differentContents returns the paths whose contents differ in a and b.
func differentContents(ctx context.Context, a, b inroot.Tree, paths []string, workers int) ([]string, error) {
	var mu sync.Mutex
	var out []string
	var first error
	var wg sync.WaitGroup
	ch := make(chan string)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, bufSize)
			for p := range ch {
				ha, erra := fileMD5(a, p, buf)
				hb, errb := fileMD5(b, p, buf)
				mu.Lock()
				switch {
				case erra != nil || errb != nil:
					if first == nil {
						first = errors.Join(erra, errb)
					}
				case !bytes.Equal(ha, hb):
					out = append(out, p)
				}
				mu.Unlock()
			}
		}()
	}
	for _, p := range paths {
		if ctx.Err() != nil {
			break
		}
		ch <- p
	}
	close(ch)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, first
}

func fileMD5(tr inroot.Tree, p string, buf []byte) ([]byte, error) {
	f, err := tr.Open(p, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_NOATIME, 0)
	if errors.Is(err, unix.EPERM) {
		f, err = tr.Open(p, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.CopyBuffer(h, onlyReader{f}, buf); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// Summary counts added, removed and changed files per top directory
// ("/usr", "/etc"; a file at the top counts as "/").
type Summary struct {
	Dir                     string
	Added, Removed, Changed int
}

// Summarize makes the per-directory summary of d's files, by directory.
func Summarize(f FileDiff) []Summary {
	by := map[string]*Summary{}
	get := func(p string) *Summary {
		dir := "/"
		if i := strings.IndexByte(p[1:], '/'); i >= 0 {
			dir = p[:i+1]
		}
		if by[dir] == nil {
			by[dir] = &Summary{Dir: dir}
		}
		return by[dir]
	}
	for _, p := range f.Added {
		get(p).Added++
	}
	for _, p := range f.Removed {
		get(p).Removed++
	}
	for _, p := range f.Changed {
		get(p).Changed++
	}
	var out []Summary
	for _, s := range by {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dir < out[j].Dir })
	return out
}

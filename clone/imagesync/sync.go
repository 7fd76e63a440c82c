package imagesync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/inroot"
	"github.com/drd-linux/drd/internal/mount"
	"github.com/drd-linux/drd/internal/mountinfo"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/pkgdb"
)

// ExcludeFile is the site's list of paths never synced, in the booted
// image: one absolute path a line, # comments.
const ExcludeFile = "/etc/drd/sync.exclude"

// Options of a sync.
type Options struct {
	// Machine is where images are found and mounted; its Root is the
	// booted image's root.
	Machine bootenv.Machine
	// Image is the image to sync into; "": the activated one if it is
	// not the booted one, else the only inactive one.
	Image string
	// Preview computes and writes the decision lists, and changes
	// nothing in the clone: it is mounted read-only.
	Preview bool
	// Exclude are image paths never synced, besides NeverSynced and
	// the site's ExcludeFile.
	Exclude []string
	// Logf receives notes (entries skipped, changed under the walk).
	Logf func(string, ...any)
	// Status is the caller's scan of Machine, taken just before (nil:
	// Run scans): a scan reads every disk, seconds at shutdown.
	Status *bootenv.Status
}

// Run brings the booted image's changes since the clone (or the last
// sync) into an inactive image, and writes the decision lists into the
// booted image's /var/opt/drd/sync/. The result says what was done; it is
// not Clean when entries are in conflict or packages were left out.
func Run(ctx context.Context, opt Options, r report.Reporter) (*Result, error) {
	m := opt.Machine
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	st := opt.Status
	if st == nil {
		var err error
		if st, err = m.Scan(ctx); err != nil {
			return nil, err
		}
	}
	img, err := pick(st, opt.Image)
	if err != nil {
		return nil, err
	}
	switch img.State {
	case bootenv.Cloning, bootenv.Broken:
		return nil, fmt.Errorf("%s is %s: sync only into a complete image (drd clone -x overwrite=true it again)", img.Name, img.State)
	}
	res := &Result{Image: img.Name}
	layout, err := m.DiscoverBooted(ctx)
	if err != nil {
		return nil, err
	}
	excl, err := readExcludes(m.Root, opt.Exclude)
	if err != nil {
		return nil, err
	}

	dir := bootenv.MountDir(m.Root, img.Name)
	if !mounted(m.ProcDir, dir) {
		if dir, err = m.MountImage(ctx, img, opt.Preview, r); err != nil {
			return nil, err
		}
		defer func() {
			if uerr := m.Umount(context.WithoutCancel(ctx), img.Name, r); uerr != nil {
				r.Warn("%s stays mounted at %s: %v", img.Name, dir, uerr)
			}
		}()
	} else if opt.Preview {
		r.Note("%s is mounted at %s already (drd mount): the preview reads it there and writes nothing in it", img.Name, dir)
	}

	var mps []string
	for _, f := range img.FileSystems {
		mps = append(mps, f.MountPoint)
	}
	holder := Holder(mps, ManifestPath)
	man, err := ReadManifest(filepath.Join(dir, holder), holder)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s has no sync manifest (%s): it was cloned by a drd without sync; clone again to sync into it", img.Name, ManifestPath)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: clone again to sync into %s", err, img.Name)
	}

	r.Step("Comparing the package databases")
	listed, nextPkgs := packageChanges(man.Packages, pkgdb.Read(m.Root), pkgdb.Read(dir))
	res.Packages = listed
	skip := packageFiles(m.Root, dir, listed)
	for _, p := range listed {
		r.Warn("package %s %s on the booted image since the clone: its files are not synced; run the same in the clone (drd runcmd apt-get install %s) or clone again", p.Name, p.Change, p.Name)
	}

	critical := map[string]bootenv.SystemFS{}
	for _, c := range layout.Critical {
		critical[c.MountPoint] = c
	}
	next := &Manifest{Packages: nextPkgs, Etc: man.Etc}
	for i := range man.FS {
		old := &man.FS[i]
		b, ok := critical[old.MountPoint]
		if !ok || !b.Mounted() {
			r.Warn("%s is not a mounted critical file system of the booted image: not synced", old.MountPoint)
			next.FS = append(next.FS, *old)
			continue
		}
		r.Step("Syncing %s", old.MountPoint)
		o := treeOptions{
			prune:    Prune(old.MountPoint, mps, excl...),
			excluded: Prune(old.MountPoint, nil, excl...),
			skipPkg:  func(p string) bool { return skip[p] },
			preview:  opt.Preview,
			logf:     opt.Logf,
		}
		var entries []Entry
		err := mount.With(mount.Spec{Source: b.HostPath, Bind: true, Flags: mount.ReadOnly, Private: true,
			Dir: filepath.Join(m.Root, bootenv.MountsDir), Pattern: ".sync-booted-"}, func(src string) error {
			var err error
			entries, err = syncTree(ctx, Tree{MountPoint: old.MountPoint, Booted: src, Clone: filepath.Join(dir, old.MountPoint)}, old, next.Etc, o, res)
			return err
		})
		if err != nil {
			return nil, err
		}
		next.FS = append(next.FS, FS{MountPoint: old.MountPoint, Entries: entries})
	}
	res.finish()
	if !opt.Preview {
		r.Step("Recording the sync in %s", img.Name)
		if err := WriteManifest(filepath.Join(dir, holder), holder, next); err != nil {
			return nil, err
		}
		if rec, err := bootenv.ReadRecord(dir); err == nil {
			result := "succeeded"
			if !res.Clean() {
				result = "warning"
			}
			rec.AddEvent("sync", result, fmt.Sprintf("%d copied, %d deleted, %d merged, %d in conflict, %d packages left out",
				res.Counts.Copied, res.Counts.Deleted, res.Counts.Merged, res.Counts.Conflicts, res.Counts.Packages))
			if err := bootenv.WriteRecord(dir, rec); err != nil {
				r.Warn("recording the sync in %s's history: %v", img.Name, err)
			}
		}
	}
	if err := WriteLists(m.Root, res); err != nil {
		return res, err
	}
	return res, nil
}

// pick chooses the image to sync into: the one named, else the
// activated one when it is not the booted one, else the only inactive.
func pick(st *bootenv.Status, name string) (*bootenv.Image, error) {
	if name == "" && st.Activated != "" && st.Booted != nil && st.Activated != st.Booted.Name {
		name = st.Activated
	}
	return st.Inactive(name)
}

// mounted tells whether something is mounted at dir.
func mounted(procDir, dir string) bool {
	ms, err := mountinfo.Read(procDir)
	return err == nil && len(mountinfo.Under(ms, dir)) > 0
}

// readExcludes joins the site's list (in the booted image, read inside
// it) and the command line's.
func readExcludes(root string, extra []string) ([]string, error) {
	data, err := inroot.Mounts(root).ReadFile(ExcludeFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	site, err := ParseExcludes(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ExcludeFile, err)
	}
	for _, e := range extra {
		p, err := cleanExclude(e)
		if err != nil {
			return nil, fmt.Errorf("-x exclude=%s: %w", e, err)
		}
		site = append(site, p)
	}
	return site, nil
}

// ParseExcludes reads a list of paths never synced: one absolute path a
// line; blank lines and lines starting with # are left out.
func ParseExcludes(data []byte) ([]string, error) {
	var out []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p, err := cleanExclude(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// cleanExclude checks one excluded path.
func cleanExclude(p string) (string, error) {
	if !path.IsAbs(p) {
		return "", fmt.Errorf("%q is not an absolute path: write it from / (/srv/cache)", p)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("%q holds a NUL byte", p)
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return "", fmt.Errorf("%q holds ..: write the path itself", p)
		}
	}
	c := path.Clean(p)
	if c == "/" {
		return "", errors.New("/ cannot be excluded: that would sync nothing")
	}
	return c, nil
}

// packageFiles are the image paths of the listed packages' files, as
// dpkg's lists in either image name them: they are not synced.
func packageFiles(booted, clone string, ps []Package) map[string]bool {
	out := map[string]bool{}
	for _, p := range ps {
		name, arch, _ := strings.Cut(p.Name, ":")
		for _, root := range []string{booted, clone} {
			tr := inroot.Mounts(root)
			for _, f := range []string{name + ".list", name + ":" + arch + ".list"} {
				data, err := tr.ReadFile(path.Join("/var/lib/dpkg/info", f))
				if err != nil {
					continue
				}
				for _, l := range strings.Split(string(data), "\n") {
					if strings.HasPrefix(l, "/") {
						out[path.Clean(l)] = true
					}
				}
			}
		}
	}
	return out
}

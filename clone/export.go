package clone

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"aead.dev/minisign"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/images/artifact"
	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/pkgdb"
)

// ExportOptions of an export.
type ExportOptions struct {
	Root   string               // root of the booted image: "/" or --root
	Image  string               // the inactive image to export; "": the only one
	Output io.Writer            // where the artifact goes
	Key    *minisign.PrivateKey // signs the artifact; nil: unsigned
	Level  int                  // zstd level; 0: 3
	// Delta exports only what differs from the booted image, which the
	// exported one must have been cloned from.
	Delta bool
	// Seams for tests; zero values mean the real machine.
	SysDir, ProcDir string
	Runner          execrun.Runner // tune2fs, xfs_info; nil: the real ones
}

// Export writes an inactive image (complete, not being changed) as an
// artifact (images/artifact) to opt.Output: one member per critical file
// system but the ESP, which an import takes from the importing host.
func Export(ctx context.Context, opt ExportOptions, r report.Reporter) (*artifact.Manifest, error) {
	if opt.Runner == nil {
		opt.Runner = execrun.Real{}
	}
	m := bootenv.Real(opt.Root)
	if opt.SysDir != "" {
		m.SysDir = opt.SysDir
	}
	if opt.ProcDir != "" {
		m.ProcDir = opt.ProcDir
	}
	st, err := m.Scan(ctx)
	if err != nil {
		return nil, err
	}
	img, err := st.Inactive(opt.Image)
	if err != nil {
		return nil, err
	}
	if img.State != bootenv.Complete {
		return nil, fmt.Errorf("%s is %s: only a complete image can be exported (wait for what changes it, or clone again)", img.Name, img.State)
	}
	dir := bootenv.MountDir(m.Root, img.Name)
	mounts, err := bootenv.ReadMountinfo(m.ProcDir)
	if err != nil {
		return nil, err
	}
	if len(bootenv.MountsUnder(mounts, dir)) == 0 {
		if _, err := m.Mount(ctx, img.Name, r); err != nil {
			return nil, err
		}
		defer func() {
			if err := m.Umount(context.WithoutCancel(ctx), img.Name, r); err != nil {
				r.Warn("unmounting %s: %v", img.Name, err)
			}
		}()
	}
	rec, err := json.Marshal(img.Record)
	if err != nil {
		return nil, err
	}
	host, _ := os.ReadFile(filepath.Join(m.Root, "etc/hostname"))
	man := artifact.Manifest{
		Kind: artifact.KindFull, Created: time.Now().UTC(), SourceHost: strings.TrimSpace(string(host)),
		Image: rec, Exported: baseIdentity(dir),
	}
	fromBooted := st.Booted != nil && img.Origin == st.Booted.ID
	switch {
	case fromBooted:
		man.Origin = baseIdentity(m.Root)
	case opt.Delta:
		return nil, fmt.Errorf("%s was not cloned from the booted image: a delta is made against the booted image; export it whole (without -x delta)", img.Name)
	default:
		r.Note("%s was not cloned from the booted image: the artifact names no origin", img.Name)
	}
	if opt.Delta {
		man.Kind = artifact.KindDelta
		man.Origin.List = pkgdb.Read(m.Root)
	}
	fss := slices.Clone(img.FileSystems)
	slices.SortStableFunc(fss, func(a, b bootenv.FileSystem) int {
		return strings.Count(a.MountPoint, "/") - strings.Count(b.MountPoint, "/")
	})
	var total int64
	for _, f := range fss {
		if f.Type == "vfat" {
			r.Note("%s (the ESP) is not exported: an import keeps the importing host's", f.MountPoint)
			continue
		}
		name := memberFor(f.MountPoint, len(man.Members))
		man.Members = append(man.Members, artifact.Member{Name: name})
		man.FileSystems = append(man.FileSystems, artifact.FileSystem{
			Mount: f.MountPoint, Type: f.Type, Label: f.Label, Size: f.Size, Used: f.Used, LV: f.LV, Member: name,
		})
		if f.VG != "" {
			man.VG = f.VG
		}
		total += f.Used
	}
	// Each file system of the image alone (files hidden under a mount
	// point in it too), and for a delta the booted image's alone: bound
	// read-only before anything is written, so that the header holds the
	// features.
	var u undo
	defer func() {
		if err := u.run(); err != nil {
			r.Warn("releasing the export's mounts: %v", err)
		}
	}()
	work := filepath.Join(m.Root, bootenv.MountsDir, ".source-export-"+img.Name)
	alone := make([]string, len(man.FileSystems))
	against := make([]string, len(man.FileSystems))
	for i := range man.FileSystems {
		f := &man.FileSystems[i]
		alone[i] = filepath.Join(work, "image-"+strconv.Itoa(i))
		if err := bindReadOnly(filepath.Join(dir, f.Mount), alone[i], &u); err != nil {
			return nil, err
		}
		if f.Features, err = fsFeatures(ctx, opt.Runner, m.ProcDir, f.Type, alone[i]); err != nil {
			return nil, fmt.Errorf("exporting %s of %s: %w", f.Mount, img.Name, err)
		}
		if opt.Delta {
			against[i] = filepath.Join(work, "booted-"+strconv.Itoa(i))
			if err := bindReadOnly(filepath.Join(m.Root, f.Mount), against[i], &u); err != nil {
				return nil, err
			}
		}
	}
	w, err := artifact.NewWriter(opt.Output, man, opt.Key)
	if err != nil {
		return nil, fmt.Errorf("exporting %s: %w", img.Name, err)
	}
	start := time.Now()
	var done artifact.PackStats
	for i, f := range man.FileSystems {
		r.Step("Exporting %s of %s", f.Mount, img.Name)
		base := done
		st, err := artifact.WriteFS(ctx, w, f.Member, alone[i], opt.Level, artifact.PackOptions{
			Logf:    r.Note,
			Base:    against[i],
			Exclude: exportExcludes(f.Mount),
			Progress: func(s artifact.PackStats) {
				if s.Entries%256 == 0 {
					r.Progress(report.Progress{What: "exporting " + f.Mount, Bytes: base.Bytes + s.Bytes, Total: total,
						Entries: base.Entries + s.Entries, Elapsed: time.Since(start)})
				}
			},
		})
		if err != nil {
			return nil, fmt.Errorf("exporting %s of %s: %w", f.Mount, img.Name, err)
		}
		done.Bytes += st.Bytes
		done.Entries += st.Entries
		r.Note("%s: %d entries, %s", f.Mount, st.Entries, humanSize(st.Bytes))
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("exporting %s: %w", img.Name, err)
	}
	out := w.Manifest()
	return &out, nil
}

// baseIdentity is the base identity of the image at root.
func baseIdentity(root string) artifact.Identity {
	ps := pkgdb.Read(root)
	return artifact.Identity{OSRelease: pkgdb.OSRelease(root), Packages: pkgdb.Digest(ps), Count: len(ps)}
}

var memberOK = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`) })

// memberFor names the member of the file system at mount: "root" for /,
// "var_log" for /var/log.
func memberFor(mount string, i int) string {
	if mount == "/" {
		return "root"
	}
	n := strings.ToLower(strings.ReplaceAll(strings.Trim(mount, "/"), "/", "_"))
	if !memberOK().MatchString(n) || n == "root" {
		return "fs" + strconv.Itoa(i)
	}
	return n
}

// exportExcludes are the names, relative to the file system at mount,
// whose contents stay out of an artifact: drd's own records, logs and
// mount points of the exporting host (bootenv.DataDir).
func exportExcludes(mount string) []string {
	data := bootenv.DataDir // "/var/opt/drd"
	if mount == "/" {
		return []string{strings.TrimPrefix(data, "/")}
	}
	if rel, ok := strings.CutPrefix(data, mount+"/"); ok {
		return []string{rel}
	}
	return nil
}

// fsFeatures are the features of the file system mounted at dir, as the
// manifest's layout records them: tune2fs's for ext*, xfs_info's for xfs.
func fsFeatures(ctx context.Context, run execrun.Runner, procDir, typ, dir string) ([]string, error) {
	switch {
	case typ == "xfs":
		out, err := run.Run(ctx, "xfs_info", dir)
		if err != nil {
			return nil, err
		}
		p, err := parseXFSInfo(out)
		if err != nil {
			return nil, err
		}
		return append(slices.Clone(p.meta), p.inode...), nil
	case strings.HasPrefix(typ, "ext"):
		mounts, err := bootenv.ReadMountinfo(procDir)
		if err != nil {
			return nil, err
		}
		dev := ""
		for _, m := range mounts {
			if m.MountPoint == dir {
				dev = m.Source
			}
		}
		if !strings.HasPrefix(dev, "/dev/") {
			return nil, fmt.Errorf("%s: no device is mounted there (%q)", dir, dev)
		}
		out, err := run.Run(ctx, "tune2fs", "-l", dev)
		if err != nil {
			return nil, err
		}
		p, err := parseTune2fs(out)
		if err != nil {
			return nil, err
		}
		return p.features, nil
	}
	return nil, nil
}

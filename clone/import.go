package clone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"strings"
	"time"

	"aead.dev/minisign"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/images/artifact"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/pkgdb"
)

// ImportSource is an artifact to import.
type ImportSource struct {
	Name string    // the file, or "-" for standard input: for messages and records
	R    io.Reader // the artifact; an *os.File of a regular file is checked whole first
	// Trust are the keys that may sign it; with any, an unsigned artifact
	// or one signed by another key is refused.
	Trust []minisign.PublicKey
}

// importRun is the artifact side of an import under way.
type importRun struct {
	src      ImportSource
	ar       *artifact.Reader
	exported *bootenv.Record // the exported image's record, from the header
	manifest *artifact.Manifest
	identity []string // the identity paths, read before the target is touched
}

// Import makes a new inactive image on opt.Target from an artifact (a
// clone from an artifact): the target checked, laid out, made and mounted
// as drd clone does it, then filled from the artifact's members (a delta:
// the booted image, which must be of the delta's base, is cloned and the
// delta applied over it); this
// host's identity (IdentityFiles, /etc/drd/identity.list) kept; the ESP,
// fix-ups, boot loader and records as after a clone. An artifact whose
// signature or layout does not fit is refused before the target is
// touched; a file is checked whole (every digest) first. A stream can be
// checked only as it is read: when it turns out corrupt, the new image is
// left broken.
func Import(ctx context.Context, opt Options, src ImportSource, r report.Reporter) error {
	opt.defaults()
	if f, ok := src.R.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			r.Step("Checking the artifact %s (signature and every digest)", src.Name)
			if _, _, err := artifact.Verify(f, src.Trust); err != nil {
				return fmt.Errorf("artifact %s: %w", src.Name, err)
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
		}
	}
	ar, err := artifact.NewReader(src.R, src.Trust)
	if err != nil {
		return fmt.Errorf("artifact %s: %w", src.Name, err)
	}
	imp := &importRun{src: src, ar: ar, exported: &bootenv.Record{}}
	if len(ar.Header.Image) > 0 {
		if err := json.Unmarshal(ar.Header.Image, imp.exported); err != nil {
			return fmt.Errorf("artifact %s: the exported image's record: %w", src.Name, err)
		}
	}
	signer := ar.Signer
	if signer == "" {
		signer = "no key checked"
	}
	r.Note("artifact %s: %s exported on %s on %s, signer %s", src.Name, imp.exported.Name, ar.Header.SourceHost, ar.Header.Created.Format(time.DateTime), signer)
	p, err := discover(ctx, opt, r)
	if err != nil {
		return err
	}
	if imp.identity, err = identityPaths(opt.Root); err != nil {
		return err
	}
	if ar.Header.Kind == artifact.KindDelta {
		if err := sameBase(opt.Root, ar.Header.Origin); err != nil {
			return fmt.Errorf("artifact %s: %w", src.Name, err)
		}
	}
	if err := fitsLayout(p, ar.Header); err != nil {
		return fmt.Errorf("artifact %s on %s: %w", src.Name, opt.Target, err)
	}
	showPlan(p, opt.Preview, r)
	if opt.Preview {
		r.Step("Preview: nothing was written")
		return nil
	}
	return executeRun(ctx, p, opt, r, imp)
}

// sameBase checks that the booted image at root has the base identity a
// delta needs, and says which packages differ when not.
func sameBase(root string, need artifact.Identity) error {
	have := baseIdentity(root)
	if have.Packages == need.Packages && maps.Equal(have.OSRelease, need.OSRelease) {
		return nil
	}
	var diffs []string
	for k, v := range need.OSRelease {
		if have.OSRelease[k] != v {
			diffs = append(diffs, fmt.Sprintf("os-release %s is %q here, %q in the delta's base", k, have.OSRelease[k], v))
		}
	}
	for _, c := range pkgdb.Diff(pkgdb.Packages(need.List), pkgdb.Read(root)) {
		diffs = append(diffs, "this host "+c.Text())
	}
	if len(diffs) > 20 {
		diffs = append(diffs[:20], fmt.Sprintf("and %d more", len(diffs)-20))
	}
	if len(diffs) == 0 {
		diffs = []string{"the package lists differ"}
	}
	return fmt.Errorf("this host is not on the base the delta needs: %s; import a full artifact (drd export without -x delta), or bring this host to the canary's base first", strings.Join(diffs, "; "))
}

// fitsLayout checks that the artifact's file systems are the booted
// image's critical ones (the ESP aside), of the same types, and fit the
// sizes planned for them.
func fitsLayout(p *Plan, m *artifact.Manifest) error {
	have := map[string]artifact.FileSystem{}
	for _, f := range m.FileSystems {
		have[f.Mount] = f
	}
	var problems []string
	for _, f := range p.FS {
		if f.IsESP() {
			continue
		}
		a, ok := have[f.MountPoint]
		delete(have, f.MountPoint)
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("this host's %s is a file system of its own, the artifact's is not", f.MountPoint))
		case a.Type != f.Type:
			problems = append(problems, fmt.Sprintf("%s is %s here, %s in the artifact", f.MountPoint, f.Type, a.Type))
		case a.Used+a.Used/10 > f.Size:
			problems = append(problems, fmt.Sprintf("%s: the artifact's %s do not fit the %s planned: use a larger target or -x image_size", f.MountPoint, humanSize(a.Used), humanSize(f.Size)))
		}
	}
	for mount := range have {
		problems = append(problems, fmt.Sprintf("the artifact's %s is a file system of its own, this host's is not", mount))
	}
	if len(problems) > 0 {
		return fmt.Errorf("the artifact's layout does not fit this host: %s", strings.Join(problems, "; "))
	}
	return nil
}

// unpackAll fills the new image's file systems from the artifact's members,
// then reads the manifest and checks every digest: until then what was
// written is not trusted, and a failure leaves the image broken.
func (c *run) unpackAll(ctx context.Context) error {
	h := c.imp.ar.Header
	var total int64
	for _, f := range h.FileSystems {
		total += f.Used
	}
	start := time.Now()
	var done artifact.PackStats
	for {
		name, mr, err := c.imp.ar.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading artifact %s: %w", c.imp.src.Name, err)
		}
		var mount string
		for _, f := range h.FileSystems {
			if f.Member == name {
				mount = f.Mount
			}
		}
		i := c.fsAt(mount)
		if i < 0 {
			return fmt.Errorf("artifact %s: member %s (%s) has no file system here", c.imp.src.Name, name, mount)
		}
		base := done
		st, err := artifact.ReadFS(ctx, mr, c.dst[i], artifact.UnpackOptions{Delta: h.Kind == artifact.KindDelta, Progress: func(s artifact.PackStats) {
			if s.Entries%256 == 0 {
				c.r.Progress(report.Progress{What: "importing " + mount, Bytes: base.Bytes + s.Bytes, Total: total,
					Entries: base.Entries + s.Entries, Elapsed: time.Since(start)})
			}
		}})
		if err != nil {
			return fmt.Errorf("importing %s from artifact %s: %w", mount, c.imp.src.Name, err)
		}
		done.Bytes += st.Bytes
		done.Entries += st.Entries
		c.r.Note("%s: %d entries, %s", mount, st.Entries, humanSize(st.Bytes))
	}
	m, err := c.imp.ar.Finish()
	if err != nil {
		return fmt.Errorf("artifact %s: %w", c.imp.src.Name, err)
	}
	c.imp.manifest = m
	return nil
}

func (c *run) fsAt(mount string) int {
	for i, f := range c.FS {
		if f.MountPoint == mount && !f.IsESP() {
			return i
		}
	}
	return -1
}

// keepHostIdentity puts this host's identity files back into the new image.
func (c *run) keepHostIdentity(ctx context.Context) error {
	return c.keepIdentity(ctx, c.opt.Root, c.dst[c.rootIndex()], c.imp.identity)
}

// importRenames maps the exported image's file-system UUIDs to the new
// image's, for its boot loader configuration.
func (c *run) importRenames() map[string]string {
	out := map[string]string{}
	if c.imp == nil {
		return out
	}
	for _, e := range c.imp.exported.FileSystems {
		if i := c.fsAt(e.MountPoint); i >= 0 && e.UUID != "" && c.FS[i].ID.UUID != "" {
			out[e.UUID] = c.FS[i].ID.UUID
		}
	}
	return out
}

// importEvent is the new image's history line: where it came from.
func (c *run) importEvent() string {
	m := c.imp.manifest
	signer := c.imp.ar.Signer
	if signer == "" {
		signer = "none checked"
	}
	return fmt.Sprintf("from %s artifact %s (manifest sha256 %s): %s of host %s, exported %s; signed by key %s",
		m.Kind, c.imp.src.Name, c.imp.ar.ManifestSHA256, c.imp.exported.Name, m.SourceHost, m.Created.Format(time.RFC3339), signer)
}

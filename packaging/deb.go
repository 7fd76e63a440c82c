// Package packaging builds drd's Debian package (make deb): a staged tree
// of the files, then dpkg-deb.
//
// Why dpkg-deb from a staged tree and not nfpm: dpkg-deb is part of dpkg,
// on every Debian machine that builds or tests drd, so the package needs
// no new Go modules (nfpm brings some forty into go.mod, under the ISL
// build's module set); the staged tree is plain files that a test and
// lintian can read; and the maintainer scripts are Debian's own
// (deb-systemd-helper, as dh_installsystemd writes them), which nfpm would
// only carry as opaque files too.
//
// The man pages, the completions and the commented drd.conf are not kept
// in the repository: Build asks the drd it packages (drd generate, drd
// completion), so they come from the command definitions and cannot drift.
package packaging

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/isl"
)

//go:embed debian
var debianFiles embed.FS

// Name is the package's name.
const Name = "drd"

// Options say what to package.
type Options struct {
	Drd     string    // the drd executable, stamped with Version
	ISL     string    // STAGEISL's initramfs (make isl: build/isl/drd-isl.img)
	Source  string    // the repository's top directory: README.md, docs/
	Version string    // git describe --tags --always --dirty
	Date    time.Time // the changelog's and the man pages' date
	OutDir  string    // where the .deb goes
	// Compression is dpkg-deb's -Z: "" is xz (the package make deb
	// ships); the tests and the VM harness, which unpack it at once, say
	// gzip and save most of the seconds xz takes.
	Compression string
	Logf        func(format string, args ...any)
}

// Conffiles are the package's configuration files: dpkg -r keeps them.
var Conffiles = []string{
	"/etc/drd/checks.d/50-ssh.example",
	"/etc/drd/checks.d/60-units.example",
	"/etc/drd/checks.d/70-http.example",
	"/etc/drd/checks.d/README",
	"/etc/drd/drd.conf",
}

// UserDocs are the pages of docs/ the package installs in /usr/share/doc/drd.
var UserDocs = []string{"boot.md", "cli.md", "isl.md", "runcmd.md"}

// Completions are where each shell looks for drd's completion.
var Completions = map[string]string{
	"bash": "/usr/share/bash-completion/completions/drd",
	"zsh":  "/usr/share/zsh/vendor-completions/_drd",
	"fish": "/usr/share/fish/vendor_completions.d/drd.fish",
}

// DebVersion turns git describe's version into a Debian one, which must
// start with a digit: v1.2.0 → 1.2.0-1, v1.2.0-3-gabc1234 → 1.2.0+3.gabc1234-1,
// a bare commit abc1234 (no tag yet) → 0~gabc1234-1 (sorts before any
// release); -dirty → +dirty. The Debian revision -1 makes it a non-native
// package, whose changelog is changelog.Debian.gz.
func DebVersion(describe string) (string, error) {
	v := strings.TrimPrefix(strings.TrimSpace(describe), "v")
	dirty := strings.HasSuffix(v, "-dirty")
	v = strings.TrimSuffix(v, "-dirty")
	switch {
	case regexp.MustCompile(`^[0-9a-f]{4,40}$`).MatchString(v):
		v = "0~g" + v
	case regexp.MustCompile(`^[0-9][0-9A-Za-z.+~]*(-[0-9]+-g[0-9a-f]+)?$`).MatchString(v):
		if i := strings.Index(v, "-"); i >= 0 {
			v = v[:i] + "+" + strings.ReplaceAll(v[i+1:], "-", ".")
		}
	default:
		return "", fmt.Errorf("version %q (git describe) does not make a Debian version: tag releases as v1.2.3", describe)
	}
	if dirty {
		v += "+dirty"
	}
	return v + "-1", nil
}

// Build stages the package's tree in a temporary directory and makes
// OutDir/drd_<version>_amd64.deb of it with dpkg-deb. It returns the path.
func Build(ctx context.Context, o Options) (string, error) {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	debVersion, err := DebVersion(o.Version)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp("", "drd-deb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	tree := filepath.Join(tmp, "tree")
	if err := Stage(ctx, tree, o, debVersion); err != nil {
		return "", err
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return "", err
	}
	deb := filepath.Join(o.OutDir, fmt.Sprintf("%s_%s_amd64.deb", Name, debVersion))
	z := o.Compression
	if z == "" {
		z = "xz"
	}
	if _, err := run(ctx, "dpkg-deb", "--root-owner-group", "-Z"+z, "--build", tree, deb); err != nil {
		return "", err
	}
	o.Logf("built %s", deb)
	return deb, nil
}

// Stage writes the package's tree, DEBIAN/ included, into tree.
func Stage(ctx context.Context, tree string, o Options, debVersion string) error {
	w := &stager{tree: tree}
	w.copy("/usr/sbin/drd", o.Drd, 0o755)
	w.copy("/usr/lib/drd/"+isl.ImageName, o.ISL, 0o644)
	w.write(bootenv.PackagedUnitPath, []byte(bootenv.PackagedUnitText()), 0o644)
	w.write(bootenv.PackagedRescueUnitPath, []byte(bootenv.PackagedRescueUnitText()), 0o644)

	// What drd says of itself: man pages, drd.conf, completions.
	gen := filepath.Join(tree, "..", "generated")
	if w.err == nil {
		_, w.err = run(ctx, o.Drd, "generate", "--man", filepath.Join(gen, "man"), "--conf", filepath.Join(gen, "drd.conf"),
			"--date", o.Date.UTC().Format("2006-01-02"))
	}
	if w.err == nil {
		pages, _ := filepath.Glob(filepath.Join(gen, "man", "*.8"))
		for _, p := range pages {
			w.gzip("/usr/share/man/man8/"+filepath.Base(p)+".gz", w.read(p), 0o644)
		}
		if len(pages) == 0 && w.err == nil {
			w.err = fmt.Errorf("%s generate wrote no man pages", o.Drd)
		}
	}
	w.copy("/etc/drd/drd.conf", filepath.Join(gen, "drd.conf"), 0o644)
	for sh, path := range Completions {
		if w.err != nil {
			break
		}
		var out string
		if out, w.err = run(ctx, o.Drd, "completion", sh); w.err == nil {
			w.write(path, []byte(out), 0o644)
		}
	}

	// The package's own files: examples, docs, overrides, scripts.
	for _, n := range []string{"README", "50-ssh.example", "60-units.example", "70-http.example"} {
		w.write("/etc/drd/checks.d/"+n, w.embedded("debian/checks.d/"+n), 0o644)
	}
	doc := "/usr/share/doc/" + Name + "/"
	w.write(doc+"copyright", w.embedded("debian/copyright"), 0o644)
	w.write(doc+"README.Debian", w.embedded("debian/README.Debian"), 0o644)
	w.gzip(doc+"changelog.Debian.gz", []byte(changelog(debVersion, o.Version, o.Date)), 0o644)
	w.copy(doc+"README.md", filepath.Join(o.Source, "README.md"), 0o644)
	for _, d := range UserDocs { // the administrator's; the developers' stay in the repository
		w.copy(doc+d, filepath.Join(o.Source, "docs", d), 0o644)
	}
	w.write("/usr/share/lintian/overrides/"+Name, w.embedded("debian/lintian-overrides"), 0o644)

	for _, s := range []string{"postinst", "prerm", "postrm"} {
		w.write("/DEBIAN/"+s, w.embedded("debian/"+s), 0o755)
	}
	w.write("/DEBIAN/conffiles", []byte(strings.Join(Conffiles, "\n")+"\n"), 0o644)
	if w.err != nil {
		return w.err
	}
	sums, size, err := md5sums(tree)
	if err != nil {
		return err
	}
	w.write("/DEBIAN/md5sums", sums, 0o644)
	w.write("/DEBIAN/control", []byte(control(debVersion, size)), 0o644)
	return w.err
}

// control is the package's control file; size is its installed size in
// KiB. No Depends: drd is static, and what it runs is looked for when it
// runs (each error names the program missing): GRUB's tools (grub2-common:
// grub-install, grub-editenv, grub-mkimage, update-grub) and e2fsprogs
// (mkfs.ext4, tune2fs) for a clone; lvm2 and xfsprogs for roots on LVM or
// xfs; slirp4netns for runcmd's default network (installed with the
// package, unless recommends are off); man-db to read the pages.
func control(debVersion string, size int64) string {
	return `Package: ` + Name + `
Version: ` + debVersion + `
Architecture: amd64
Maintainer: drd developers <drd@drd-linux.invalid>
Installed-Size: ` + fmt.Sprint(size) + `
Section: admin
Priority: optional
Homepage: https://github.com/drd-linux/drd
Recommends: grub2-common, e2fsprogs, slirp4netns
Suggests: lvm2, xfsprogs, man-db
Description: Dynamic Root Disk: patch a clone of the running system, boot it
 drd keeps a second, inactive copy of the operating system: drd clone
 copies the critical file systems of the booted system image to another
 disk or an image file; drd runcmd patches the copy in a jail while the
 booted system keeps serving; drd activate makes it the next boot target,
 and a trial boot that fails its health checks falls back by itself.
 STAGEISL, a small recovery initramfs, lists and boots the images when
 none comes up.
`
}

// changelog is a one-entry Debian changelog for the version built.
func changelog(debVersion, describe string, date time.Time) string {
	return fmt.Sprintf(`%s (%s) unstable; urgency=medium

  * Built from the drd repository at %s (git describe).

 -- drd developers <drd@drd-linux.invalid>  %s
`, Name, debVersion, describe, date.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
}

// stager writes files into the tree; the first error sticks.
type stager struct {
	tree string
	err  error
}

func (w *stager) write(path string, data []byte, mode os.FileMode) {
	if w.err != nil {
		return
	}
	p := filepath.Join(w.tree, path)
	if w.err = os.MkdirAll(filepath.Dir(p), 0o755); w.err != nil {
		return
	}
	if w.err = os.WriteFile(p, data, mode); w.err == nil {
		w.err = os.Chmod(p, mode) // whatever the umask
	}
	if w.err != nil {
		w.err = fmt.Errorf("staging %s: %w", path, w.err)
	}
}

func (w *stager) read(src string) []byte {
	if w.err != nil {
		return nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		w.err = fmt.Errorf("reading a file of the package: %w", err)
	}
	return data
}

func (w *stager) copy(path, src string, mode os.FileMode) {
	if data := w.read(src); w.err == nil {
		w.write(path, data, mode)
	}
}

func (w *stager) embedded(name string) []byte {
	data, err := debianFiles.ReadFile(name)
	if err != nil && w.err == nil {
		w.err = err
	}
	return data
}

// gzip writes data compressed as gzip -9n does: best compression, no
// name or time in the header (reproducible, as lintian wants).
func (w *stager) gzip(path string, data []byte, mode os.FileMode) {
	var b bytes.Buffer
	z, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err == nil {
		_, err = z.Write(data)
	}
	if err == nil {
		err = z.Close()
	}
	if err != nil && w.err == nil {
		w.err = err
	}
	w.write(path, b.Bytes(), mode)
}

// md5sums is DEBIAN/md5sums of the tree's files (DEBIAN/ and conffiles
// aside, as dh_md5sums does) and the tree's size in KiB.
func md5sums(tree string) ([]byte, int64, error) {
	var lines []string
	var size int64
	conf := map[string]bool{}
	for _, c := range Conffiles {
		conf[c] = true
	}
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, tree)
		if rel == "/DEBIAN" {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		size += (info.Size() + 1023) / 1024
		if !d.Type().IsRegular() || conf[rel] {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := md5.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		lines = append(lines, hex.EncodeToString(h.Sum(nil))+"  "+strings.TrimPrefix(rel, "/"))
		return nil
	})
	sort.Strings(lines)
	return []byte(strings.Join(lines, "\n") + "\n"), size, err
}

// run runs a program and returns its standard output; a failure says what
// ran and what it printed on stderr.
func run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("running %s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// Package verify checks an image against its package database, as
// dupatch's baselining and SD-UX's swverify do: every file a package
// owns against the MD5 dpkg recorded for it, conffiles against the
// status file, diversions, and the regular files of the system
// directories that no package owns. It reads the image only, inside its
// root (internal/inroot: a link in the image never leads out), and
// writes nothing but the baseline it is asked to keep (baseline.go).
//
// Diff (diff.go) compares two images: packages and files.
package verify

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"runtime"
	"sort"
	"strings"

	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/inroot"
	"github.com/drd-linux/drd/pkgdb"
)

// Kind is the category of a finding.
type Kind string

// The kinds of finding, in the order they are shown.
const (
	Missing     Kind = "missing"      // a packaged file is gone
	Modified    Kind = "modified"     // its content is not what the package shipped
	Conffile    Kind = "conffile"     // a conffile edited or removed by the administrator: expected, shown apart
	Unknown     Kind = "unknown"      // a regular file in a system directory no package owns
	Diverted    Kind = "diverted"     // a path dpkg-divert moved a package's file away from
	NoChecksums Kind = "no-checksums" // a package installed without an md5sums file
)

// Kinds lists every kind in the order they are shown.
var Kinds = []Kind{Missing, Modified, Conffile, Unknown, Diverted, NoChecksums}

// Serious tells whether a finding of kind k makes drd verify fail (exit 2).
func (k Kind) Serious() bool { return k == Missing || k == Modified }

// Finding is one thing verify found.
type Finding struct {
	Path    string `json:"path"`    // absolute, in the image
	Kind    Kind   `json:"kind"`    //
	Package string `json:"package"` // as dpkg names it; "" for unknown files and local diversions
}

// Skip is a file verify could not check, and why.
type Skip struct {
	Path, Package, Reason string
}

// Result is what Verify found in one image.
type Result struct {
	Findings []Finding // sorted by path, then kind
	Skipped  []Skip
	Files    int   // files hashed
	Bytes    int64 // bytes read to hash them
	Packages int
}

// Options of a verification.
type Options struct {
	// Root is the image's root directory (its other file systems mounted
	// below it).
	Root string
	// Workers hash files in parallel; 0: DefaultWorkers.
	Workers int
	// Generated are patterns of files made on the system, not shipped
	// by a package, that are never unknown (path.Match patterns; "/**"
	// at the end matches everything below); nil: GeneratedFiles.
	Generated []string
	// SystemDirs are the directories searched for unknown files; nil:
	// SystemDirs.
	SystemDirs []string
	// RPM runs rpm -Va for an image without dpkg but with an rpm
	// database (nil: such an image is refused).
	RPM execrun.Runner
	// Logf, if set, gets a line about each step.
	Logf func(format string, args ...any)
}

// DefaultWorkers is how many files are read and hashed at once: more
// than the CPUs, so that on a cold cache the disk has several reads to
// serve (bench-verify: about twice as fast cold as with four).
var DefaultWorkers = max(16, 2*runtime.NumCPU())

// SystemDirs are where a regular file no package owns is unknown.
var SystemDirs = []string{"/usr", "/etc", "/boot", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// DrdFiles are drd's own files in an image: never unknown.
var DrdFiles = []string{
	"/usr/lib/drd/**", "/usr/local/sbin/drd", "/etc/drd/**", "/boot/drd/**",
	"/boot/grub/drd.cfg", "/boot/grub/drdenv", "/etc/grub.d/05_drd", "/etc/systemd/system/drd-boot-check.service",
	"/etc/systemd/system/drd-trial-rescue.service",
}

// GeneratedFiles are files a Debian system makes for itself (at install
// time, from a package's maintainer scripts, or at boot), that no
// package lists. docs/cli.md lists them too.
var GeneratedFiles = []string{
	// identity and accounts
	"/etc/machine-id", "/etc/hostname", "/etc/hosts", "/etc/mailname", "/etc/timezone", "/etc/adjtime",
	"/etc/passwd", "/etc/passwd-", "/etc/group", "/etc/group-", "/etc/shadow", "/etc/shadow-",
	"/etc/gshadow", "/etc/gshadow-", "/etc/subuid", "/etc/subuid-", "/etc/subgid", "/etc/subgid-",
	"/etc/.pwd.lock", "/etc/shells", "/etc/nsswitch.conf", "/etc/.updated", "/etc/security/opasswd",
	// copied from /usr/share by a postinst (base-files, kmod, libpam-modules)
	"/etc/profile", "/etc/motd", "/etc/modules", "/etc/environment",
	// disks, network, boot
	"/etc/fstab", "/etc/crypttab", "/etc/mtab", "/etc/resolv.conf", "/etc/network/interfaces",
	"/etc/kernel/cmdline", "/etc/default/grub", "/etc/default/locale", "/etc/default/keyboard",
	"/etc/default/console-setup", "/etc/locale.gen", "/etc/console-setup/cached*",
	"/boot/initrd.img-*", "/boot/grub/**", "/boot/efi/**", "/boot/System.map-*.old",
	// caches and indexes rebuilt by triggers
	"/etc/ld.so.cache", "/etc/ssh/ssh_host_*", "/etc/ssl/certs/**", "/etc/ca-certificates.conf",
	"/etc/udev/hwdb.bin", "/usr/lib/udev/hwdb.bin", "/etc/pam.d/common-*", "/etc/apparmor.d/cache/**",
	"/usr/lib/locale/locale-archive", "/usr/share/info/dir", "/usr/share/info/dir.old",
	"/usr/lib/modules/*/modules.*", "/lib/modules/*/modules.*",
	"/usr/lib/python3/dist-packages/**/__pycache__/*.pyc", "/usr/lib/python3.*/**/__pycache__/*.pyc",
	"/usr/share/mime/**", "/usr/share/icons/*/icon-theme.cache", "/usr/share/glib-2.0/schemas/gschemas.compiled",
	"/usr/lib/*/gdk-pixbuf-2.0/*/loaders.cache", "/usr/lib/*/gio/modules/giomodule.cache",
	"/etc/apt/sources.list", "/etc/apt/sources.list.d/**", "/etc/apt/trusted.gpg", "/etc/apt/trusted.gpg.d/**",
	"/etc/apt/apt.conf.d/01autoremove-kernels", "/etc/lvm/archive/**", "/etc/lvm/backup/**",
	// left by dpkg and ucf beside a conffile
	"/etc/**.dpkg-old", "/etc/**.dpkg-dist", "/etc/**.dpkg-new", "/etc/**.ucf-old", "/etc/**.ucf-dist", "/etc/**.ucf-new",
	"/etc/**.dpkg-bak",
}

// Verify checks the image at opt.Root against its dpkg database, or,
// without one, its rpm database through opt.RPM (rpm.go).
func Verify(ctx context.Context, opt Options) (*Result, error) {
	if opt.Workers <= 0 {
		opt.Workers = DefaultWorkers
	}
	if opt.Generated == nil {
		opt.Generated = GeneratedFiles
	}
	if opt.SystemDirs == nil {
		opt.SystemDirs = SystemDirs
	}
	logf := opt.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	text, err := pkgdb.StatusText(opt.Root)
	if errors.Is(err, fs.ErrNotExist) && HasRPM(opt.Root) && opt.RPM != nil {
		logf("no dpkg database: the rpm packages, by rpm -Va")
		return VerifyRPM(ctx, opt.Root, opt.RPM)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s has no dpkg database (%s) nor rpm database: drd verify checks Debian-based and rpm-based images", opt.Root, pkgdb.DpkgStatus)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the package database of %s: %w", opt.Root, err)
	}
	divs, err := pkgdb.ReadDiversions(opt.Root)
	if err != nil {
		return nil, fmt.Errorf("reading the diversions of %s: %w", opt.Root, err)
	}
	pkgs := pkgdb.ParseInstalled(text)
	res := &Result{Packages: len(pkgs)}
	tr := inroot.Mounts(opt.Root)
	canon := newResolver(tr)
	div := map[string]pkgdb.Diversion{}
	owned := map[string]bool{}
	for _, d := range divs {
		div[d.From] = d
		owned[canon.path(d.To)] = true
		owned[canon.path(d.From)] = true // the file there is reported as diverted
		res.Findings = append(res.Findings, Finding{Path: d.From, Kind: Diverted, Package: d.Package})
	}
	// where puts a package's file where dpkg put it: diverted, unless
	// the package is the one that diverts.
	where := func(p string, pkg pkgdb.Installed) string {
		if d, ok := div[p]; ok && d.Package != pkg.Name && d.Package != pkg.Key() {
			return d.To
		}
		return p
	}
	var jobs []job
	for _, pkg := range pkgs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		isConf := map[string]bool{}
		for _, c := range pkg.Conffiles {
			isConf[c.Path] = true
			owned[canon.path(where(c.Path, pkg))] = true
			if c.Obsolete || c.MD5 == "newconffile" {
				continue
			}
			jobs = append(jobs, job{path: where(c.Path, pkg), md5: c.MD5, pkg: pkg.Key(), conffile: true})
		}
		list, _, err := pkgdb.ReadInfo(opt.Root, pkg.Key(), "list")
		if err != nil {
			res.Skipped = append(res.Skipped, Skip{Package: pkg.Key(), Reason: err.Error()})
			continue
		}
		paths := pkgdb.ParseList(list)
		for _, p := range paths {
			owned[canon.path(where(p, pkg))] = true
		}
		if pkg.State == "config-files" {
			continue // only its conffiles are left
		}
		sums, ok, err := pkgdb.ReadInfo(opt.Root, pkg.Key(), "md5sums")
		if err != nil {
			res.Skipped = append(res.Skipped, Skip{Package: pkg.Key(), Reason: err.Error()})
			continue
		}
		if !ok {
			if shipsFiles(tr, paths, isConf) {
				res.Findings = append(res.Findings, Finding{Path: path.Join(pkgdb.InfoDir, pkg.Key()+".md5sums"), Kind: NoChecksums, Package: pkg.Key()})
			}
			continue
		}
		for _, s := range pkgdb.ParseMD5Sums(sums) {
			if !isConf[s.Path] {
				jobs = append(jobs, job{path: where(s.Path, pkg), md5: s.MD5, pkg: pkg.Key()})
			}
		}
	}
	logf("%d packages, %d files to check, %d diversions", len(pkgs), len(jobs), len(divs))
	found, skipped, files, bytes := hashAll(ctx, tr, jobs, opt.Workers)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Findings = append(res.Findings, found...)
	res.Skipped = append(res.Skipped, skipped...)
	res.Files, res.Bytes = files, bytes
	ignore := append(append([]string(nil), DrdFiles...), opt.Generated...)
	unknown, skipped := unknownFiles(ctx, tr, opt.SystemDirs, owned, Compile(ignore))
	res.Findings = append(res.Findings, unknown...)
	res.Skipped = append(res.Skipped, skipped...)
	sortFindings(res.Findings)
	return res, nil
}

// shipsFiles tells whether a package without checksums has files to
// check: a path of its list that is a regular file, not a conffile.
func shipsFiles(tr inroot.Tree, paths []string, isConf map[string]bool) bool {
	for _, p := range paths {
		if isConf[p] {
			continue
		}
		if fi, err := tr.Lstat(p); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

func sortFindings(fs []Finding) {
	sort.Slice(fs, func(i, j int) bool {
		if fs[i].Path != fs[j].Path {
			return fs[i].Path < fs[j].Path
		}
		return fs[i].Kind < fs[j].Kind
	})
}

// Counts counts findings by kind; every kind is there, 0 if none.
func Counts(fs []Finding) map[Kind]int {
	c := map[Kind]int{}
	for _, k := range Kinds {
		c[k] = 0
	}
	for _, f := range fs {
		c[f.Kind]++
	}
	return c
}

// Patterns match paths: "*" and "?" within one component, "**" across
// components ("/boot/grub/**", "/etc/**.dpkg-old"; "/**/" also matches
// "/").
type Patterns struct{ re *regexp.Regexp }

// Compile makes Patterns of a list.
func Compile(list []string) Patterns {
	var alts []string
	for _, pat := range list {
		var b strings.Builder
		for i := 0; i < len(pat); i++ {
			switch {
			case strings.HasPrefix(pat[i:], "/**/"):
				b.WriteString("/(?:.*/)?")
				i += 3
			case strings.HasPrefix(pat[i:], "**"):
				b.WriteString(".*")
				i++
			case pat[i] == '*':
				b.WriteString("[^/]*")
			case pat[i] == '?':
				b.WriteString("[^/]")
			default:
				b.WriteString(regexp.QuoteMeta(pat[i : i+1]))
			}
		}
		alts = append(alts, b.String())
	}
	if len(alts) == 0 {
		return Patterns{}
	}
	return Patterns{regexp.MustCompile("^(?:" + strings.Join(alts, "|") + ")$")}
}

// Match tells whether p is one of the patterns.
func (ps Patterns) Match(p string) bool { return ps.re != nil && ps.re.MatchString(p) }

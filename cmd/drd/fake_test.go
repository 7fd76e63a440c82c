package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/bootenv/efi"
	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/clone/imagesync"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/isl"
)

// fake is a system whose engines record their calls and do what the test
// says: report a warning, fail, or return a status.
type fake struct {
	cloned  []clone.Options
	mounted []string // "mount NAME", "umount NAME"
	roots   []string // the root each engine got
	isl     []isl.InstallOptions
	deleted []bootenv.DeleteOptions
	commits []bootenv.CommitOptions // calls of commit that were not refused
	efi     []efi.Vars              // the UEFI variables each engine got
	opened  int                     // calls of hostEFI

	synced     []imagesync.Options
	imported   []clone.Options
	result     *imagesync.Result // what sync returns
	syncFail   error             // if set, sync fails with this
	systemctl  [][]string
	unloaded   int      // kexecUnload calls
	unloadFail error    // what kexecUnload returns
	checked    []string // the images checkInit was asked about
	initFail   error    // what checkInit returns
	activated  []bootenv.ActivateOptions

	warn   string // if set, every engine warns this
	fail   error  // if set, every engine fails with this
	status *bootenv.Status
	dir    string   // what mount returns
	uid    int      // the caller's uid: 0 (root) unless a test says otherwise
	host   efi.Vars // what hostEFI returns; nil: it fails, as on a BIOS machine
	// images are the roots withImage gives ("" for the booted image,
	// named sysimage_000); it records "with NAME ro|rw" in mounted.
	images map[string]string
}

var testNow = time.Date(2026, 11, 21, 16, 45, 3, 0, time.UTC)

func (f *fake) system() system {
	return system{
		clone: func(ctx context.Context, opt clone.Options, r report.Reporter) error {
			f.cloned = append(f.cloned, opt)
			f.roots = append(f.roots, opt.Root)
			f.efi = append(f.efi, opt.EFI)
			return f.act(r)
		},
		imprt: func(ctx context.Context, opt clone.Options, src clone.ImportSource, r report.Reporter) error {
			f.imported = append(f.imported, opt)
			f.roots = append(f.roots, opt.Root)
			return f.act(r)
		},
		activate: func(ctx context.Context, m bootenv.Machine, opt bootenv.ActivateOptions, r report.Reporter) error {
			f.activated = append(f.activated, opt)
			f.roots = append(f.roots, m.Root)
			f.efi = append(f.efi, m.EFI)
			return f.act(r)
		},
		bootCheck: func(ctx context.Context, m bootenv.Machine, opt bootenv.CheckOptions, r report.Reporter) error {
			f.roots = append(f.roots, m.Root)
			f.efi = append(f.efi, m.EFI)
			return f.act(r)
		},
		hostEFI: func() (efi.Vars, error) {
			f.opened++
			if f.host == nil {
				return nil, errors.New("statfs efivars: no such file or directory (a BIOS machine)")
			}
			return f.host, nil
		},
		scan: func(ctx context.Context, root string) (*bootenv.Status, error) {
			f.roots = append(f.roots, root)
			if f.fail != nil {
				return nil, f.fail
			}
			return f.status, nil
		},
		mount: func(ctx context.Context, root, name string, r report.Reporter) (string, error) {
			f.mounted = append(f.mounted, "mount "+name)
			f.roots = append(f.roots, root)
			return f.dir, f.act(r)
		},
		umount: func(ctx context.Context, root, name string, r report.Reporter) error {
			f.mounted = append(f.mounted, "umount "+name)
			f.roots = append(f.roots, root)
			return f.act(r)
		},
		withImage: func(ctx context.Context, root, name string, writable bool, r report.Reporter, fn func(string, *bootenv.Image) error) error {
			f.roots = append(f.roots, root)
			f.mounted = append(f.mounted, "with "+name+map[bool]string{true: " rw", false: " ro"}[writable])
			dir, ok := f.images[name]
			if !ok {
				return errors.New("no image " + name)
			}
			if name == "" {
				name = "sysimage_000"
			}
			return fn(dir, &bootenv.Image{Record: bootenv.Record{Name: name}})
		},
		delete: func(ctx context.Context, root string, opt bootenv.DeleteOptions, r report.Reporter) error {
			f.deleted = append(f.deleted, opt)
			f.roots = append(f.roots, root)
			return f.act(r)
		},
		// commit decides on f.status as bootenv does, and records the
		// commits it did not refuse.
		commit: func(ctx context.Context, root string, opt bootenv.CommitOptions, r report.Reporter) (bootenv.CommitPlan, error) {
			f.roots = append(f.roots, root)
			if err := f.act(r); err != nil {
				return bootenv.CommitPlan{}, err
			}
			p, err := bootenv.PlanCommit(f.status, opt.Image)
			if err == nil {
				f.commits = append(f.commits, opt)
			}
			return p, err
		},
		islInstall: func(ctx context.Context, opt isl.InstallOptions, r report.Reporter) error {
			f.isl = append(f.isl, opt)
			f.roots = append(f.roots, opt.Machine.Root)
			f.efi = append(f.efi, opt.Machine.EFI)
			return f.act(r)
		},
		sync: func(ctx context.Context, opt imagesync.Options, r report.Reporter) (*imagesync.Result, error) {
			f.synced = append(f.synced, opt)
			f.roots = append(f.roots, opt.Machine.Root)
			if err := f.act(r); err != nil {
				return nil, err
			}
			if f.syncFail != nil {
				return nil, f.syncFail
			}
			if f.result == nil {
				return &imagesync.Result{Image: "sysimage_001"}, nil
			}
			return f.result, nil
		},
		kexecUnload: func() error { f.unloaded++; return f.unloadFail },
		checkInit: func(m bootenv.Machine, img *bootenv.Image) error {
			f.checked = append(f.checked, img.Name)
			return f.initFail
		},
		systemctl: func(ctx context.Context, args ...string) error {
			f.systemctl = append(f.systemctl, args)
			return nil
		},
		now:  func() time.Time { return testNow },
		loc:  time.UTC,
		user: "root",
		uid:  f.uid,
		pid:  4242,
	}
}

func (f *fake) act(r report.Reporter) error {
	r.Step("working")
	r.Note("a detail")
	if f.warn != "" {
		r.Warn("%s", f.warn)
	}
	return f.fail
}

// drd runs a command line in-process against f, with --root root.
func drd(t *testing.T, f *fake, root string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb strings.Builder
	argv := append([]string{"drd", "--root", root}, args...)
	code = run(context.Background(), argv, &out, &errb, f.system())
	t.Logf("drd %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errb.String())
	return code, out.String(), errb.String()
}

var errEngine = errors.New("disk on fire")

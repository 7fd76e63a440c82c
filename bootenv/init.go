package bootenv

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/internal/inroot"
)

// The init of an image. A root without /sbin/init is no panic: the
// kernel, and initramfs-tools before it, fall back to /etc/init,
// /bin/init and at last the root's /bin/sh, which waits on the console
// forever; systemd never runs, so systemd-modules-load never loads the
// trial's softdog and nothing ends the trial. drd activate therefore
// refuses an image whose init is not a regular executable file, looked
// up inside the image as its own kernel would (docs/boot.md).

// DefaultInit is what the kernel and initramfs-tools start without init=.
const DefaultInit = "/sbin/init"

// maxInitLinks is how many links a lookup follows: the kernel's limit.
const maxInitLinks = 40

// InitOf is the init a kernel command line starts: its last init=, as
// the kernel and initramfs-tools read it, else DefaultInit.
func InitOf(cmdline string) string {
	init := DefaultInit
	for _, a := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(a, "init="); ok && v != "" {
			init = v
		}
	}
	return init
}

// lstatFunc describes the path p (absolute, clean, no link among its
// directories) of an image: its mode and, for a link, where it points.
type lstatFunc func(p string) (mode fs.FileMode, link string, err error)

// resolveInImage follows the links of p inside an image, as the image's
// kernel would with the image as its root: an absolute link starts from
// the image's top and ".." stops there, so no link leads out of it. It
// returns the path reached and its mode, or the first error on the way
// (the path that failed is in it).
func resolveInImage(p string, lstat lstatFunc) (string, fs.FileMode, error) {
	cur, mode := "/", fs.ModeDir
	todo := strings.Split(p, "/")
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur, mode = path.Dir(cur), fs.ModeDir
			continue
		}
		if !mode.IsDir() {
			return cur, mode, fmt.Errorf("%s: %w", cur, unix.ENOTDIR)
		}
		next := path.Join(cur, c)
		m, link, err := lstat(next)
		if err != nil {
			return next, 0, err
		}
		if m&fs.ModeSymlink == 0 {
			cur, mode = next, m
			continue
		}
		if links++; links > maxInitLinks {
			return next, 0, fmt.Errorf("%s: %w", p, unix.ELOOP)
		}
		if path.IsAbs(link) {
			cur = "/"
		}
		mode = fs.ModeDir
		todo = append(strings.Split(link, "/"), todo...)
	}
	return cur, mode, nil
}

// initProblem says what is wrong with init (an absolute path) in an
// image: "" when it resolves, inside the image, to a regular file that
// can be executed.
func initProblem(init string, lstat lstatFunc) string {
	if !path.IsAbs(init) {
		return fmt.Sprintf("init=%s is no absolute path", init)
	}
	got, mode, err := resolveInImage(init, lstat)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR):
		if got == path.Clean(init) {
			return fmt.Sprintf("%s is missing", init)
		}
		return fmt.Sprintf("%s is missing (%s, where its links lead inside the image, does not exist)", init, got)
	case errors.Is(err, unix.ELOOP):
		return fmt.Sprintf("%s is a loop of links", init)
	case err != nil:
		return fmt.Sprintf("%s cannot be looked up: %v", init, err)
	case !mode.IsRegular():
		return fmt.Sprintf("%s is no regular file (%s is %s)", init, got, modeWord(mode))
	case mode.Perm()&0o111 == 0:
		return fmt.Sprintf("%s is not executable (%s has mode %04o)", init, got, mode.Perm())
	}
	return ""
}

// modeWord names a file's type.
func modeWord(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "no regular file"
}

// imageLstat is the lstatFunc of an image whose file systems are at the
// mount points mps (the image's own: /, /usr, ...): a path is looked up
// in the file system of the longest mount point that holds it, which
// open makes reachable (a directory; each mount point opened once).
func imageLstat(mps []string, open func(mp string) (string, error)) lstatFunc {
	dirs := map[string]string{}
	return func(p string) (fs.FileMode, string, error) {
		mp := holdingMount(mps, p)
		dir, ok := dirs[mp]
		if !ok {
			d, err := open(mp)
			if err != nil {
				return 0, "", err
			}
			dirs[mp], dir = d, d
		}
		tr := inroot.Mounts(dir)
		rel := strings.TrimPrefix(strings.TrimPrefix(p, mp), "/")
		fi, err := tr.Lstat(rel)
		if err != nil {
			return 0, "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return fi.Mode(), "", nil
		}
		link, err := tr.Readlink(rel)
		return fi.Mode(), link, err
	}
}

// holdingMount is the longest of the mount points mps that holds p ("/"
// when none does).
func holdingMount(mps []string, p string) string {
	best := "/"
	for _, mp := range mps {
		if (p == mp || strings.HasPrefix(p, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > len(best) {
			best = mp
		}
	}
	return best
}

// InitError is an image that cannot boot for its init.
type InitError struct {
	Image, Init, Problem string
}

func (e *InitError) Error() string {
	return fmt.Sprintf("%s cannot boot: %s in it; its kernel would start a shell that waits on the console, "+
		"and a trial would not fall back by itself; reinstall its init (drd runcmd -x image=%s apt-get install --reinstall systemd-sysv), "+
		"or fix the link, or the init= of the kernel command line, then activate it again", e.Image, e.Problem, e.Image)
}

// CheckInit makes sure the image img boots an init: the one the kernel
// command line drd boots it with starts (InitOf of bootArgs), a regular
// executable file inside the image. Its file systems are opened
// read-only as the lookup needs them and released before it returns.
func (m Machine) CheckInit(img *Image) (err error) {
	var mps []string
	for _, f := range img.FileSystems {
		if path.IsAbs(f.MountPoint) {
			mps = append(mps, path.Clean(f.MountPoint))
		}
	}
	var releases []func() error
	defer func() {
		for i := len(releases) - 1; i >= 0; i-- {
			err = errors.Join(err, releases[i]())
		}
	}()
	open := func(mp string) (string, error) {
		dir, release, err := m.openFS(img, mp, false)
		if err != nil {
			return "", err
		}
		releases = append(releases, release)
		return dir, nil
	}
	init := InitOf(m.bootArgs())
	if why := initProblem(init, imageLstat(mps, open)); why != "" {
		return &InitError{Image: img.Name, Init: init, Problem: why}
	}
	return nil
}

// bootArgs are the arguments every boot drd sets up carries from the
// running command line (kernelArgs): drd's menu entries (a firmware
// switch or trial) and a kexec plan have them after root=, and a soft
// reboot keeps the running kernel's; init= among them is the image's.
func (m Machine) bootArgs() string {
	b, _ := os.ReadFile(filepath.Join(m.ProcDir, "cmdline"))
	return kernelArgs(string(b))
}

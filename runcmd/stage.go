package runcmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/safety"
)

// stage holds drd's own files for one run of the jail (policy-rc.d, the
// apt hook and its configuration, drd itself, the boot-loader shims) and
// what the hook and the shims write back. Both are tmpfs of their own,
// small and size-limited, made with fsopen/fsmount and mounted nowhere on
// the booted system: drd holds them by descriptor and the jail's init
// attaches them at /run/drd and /run/drd/out. Nothing of the booted
// system's file systems is shown in the jail for them, nothing a script
// writes there fills the booted system's disk, and after the run drd
// reads the results through its descriptor.
type stage struct {
	bin *os.File // /run/drd: read-only, nodev, nosuid (drd and the shims run from it)
	out *os.File // /run/drd/out: nodev, nosuid, noexec
}

// Sizes of the stage's file systems: drd's executable and its few
// files; the verdicts and logs written back.
const (
	stageSlack = 1 << 20
	outSize    = 16 << 20
	outDir     = stagingDir + "/out"
)

// newStage makes the stage, with exe (drd's own executable) copied in.
func newStage(cfg inspectConfig, exe string) (*stage, error) {
	st, err := openStage(exe)
	if err != nil {
		return nil, err
	}
	if err := st.fill(cfg, exe); err != nil {
		st.close()
		return nil, err
	}
	return st, nil
}

// openStage makes the stage's two file systems, empty, sized for exe:
// the jail's init can be handed them before drd fills them (fill), so
// that its start overlaps drd's own work (Spec.Before).
func openStage(exe string) (st *stage, err error) {
	fi, err := os.Stat(exe)
	if err != nil {
		return nil, fmt.Errorf("reading drd's own executable: %w", err)
	}
	st = &stage{}
	defer func() {
		if err != nil {
			st.close()
			err = fmt.Errorf("making drd's files for the runcmd environment: %w", err)
		}
	}()
	if st.bin, err = newTmpfs("drd-stage", fi.Size()+stageSlack, unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID); err != nil {
		return st, err
	}
	if st.out, err = newTmpfs("drd-out", outSize, unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC); err != nil {
		return st, err
	}
	return st, nil
}

// fill writes drd's files into the stage made by openStage (exe is
// copied in), then makes it read-only. The jail must not attach it
// before fill has returned.
func (st *stage) fill(cfg inspectConfig, exe string) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("making drd's files for the runcmd environment: %w", err)
		}
	}()
	src, err := os.Open(exe)
	if err != nil {
		return fmt.Errorf("reading drd's own executable: %w", err)
	}
	defer src.Close()
	data, _ := json.Marshal(cfg)
	conf := aptConf
	if cfg.DryRun {
		conf += aptDryConf
	}
	dir := int(st.bin.Fd())
	for _, d := range []string{"out", "bin"} {
		if err := unix.Mkdirat(dir, d, 0o755); err != nil {
			return err
		}
	}
	files := []struct {
		name string
		data string
		mode uint32
	}{{"policy-rc.d", policyRC, 0o755}, {"apt.conf", conf, 0o644}, {"inspect.json", string(data), 0o644}}
	for _, name := range safety.ShimmedBootTools {
		files = append(files, struct {
			name string
			data string
			mode uint32
		}{"bin/" + name, bootShim, 0o755})
	}
	for _, f := range files {
		if err := writeAt(dir, f.name, f.mode, func(w io.Writer) error { _, err := io.WriteString(w, f.data); return err }); err != nil {
			return err
		}
	}
	if err := writeAt(dir, "drd", 0o755, func(w io.Writer) error { _, err := io.Copy(w, src); return err }); err != nil {
		return err
	}
	// Read-only from now on: a script cannot replace the hook, the shims
	// or policy-rc.d.
	if err := unix.MountSetattr(dir, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
		return fmt.Errorf("making the stage read-only: %w", err)
	}
	return nil
}

// newTmpfs makes a detached tmpfs of size bytes, mode 755.
func newTmpfs(name string, size int64, attrs int) (*os.File, error) {
	fd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fsopen tmpfs: %w", err)
	}
	defer unix.Close(fd)
	for _, kv := range [][2]string{{"size", strconv.FormatInt(size, 10)}, {"mode", "0755"}, {"nr_inodes", "4096"}} {
		if err := unix.FsconfigSetString(fd, kv[0], kv[1]); err != nil {
			return nil, fmt.Errorf("tmpfs %s=%s: %w", kv[0], kv[1], err)
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return nil, fmt.Errorf("creating a tmpfs: %w", err)
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return nil, fmt.Errorf("fsmount tmpfs: %w", err)
	}
	return os.NewFile(uintptr(mfd), name), nil
}

// writeAt creates the file name in the directory dir.
func writeAt(dir int, name string, mode uint32, fill func(io.Writer) error) error {
	fd, err := unix.Openat(dir, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	err = fill(f)
	if err == nil {
		err = f.Chmod(os.FileMode(mode))
	}
	return errors.Join(err, f.Close())
}

// files are the descriptors the jail attaches (Mount.FD indexes them).
func (s *stage) files() []*os.File { return []*os.File{s.bin, s.out} }

// read reads what the jail wrote into /run/drd/out/name ("" if nothing):
// a regular file only, at most outSize bytes.
func (s *stage) read(name string) ([]byte, error) {
	how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_XDEV}
	fd, err := unix.Openat2(int(s.out.Fd()), name, &how)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s in drd's staging is not a regular file", name)
	}
	return io.ReadAll(io.LimitReader(f, outSize))
}

func (s *stage) close() {
	for _, f := range []*os.File{s.bin, s.out} {
		if f != nil {
			f.Close()
		}
	}
}

package testsys

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// FillEveryKind writes below dir one of every kind of entry a clone must
// copy exactly: a setuid file, a sticky directory, a file with a file
// capability, user.* and trusted.* attributes, access and default ACLs,
// a sparse file with holes, hard links across directories, dangling and
// absolute symbolic links, device nodes, a fifo, a socket (which is not
// copied), foreign owners, and nanosecond times on directories and links.
func FillEveryKind(ctx context.Context, dir string) error {
	p := func(rel string) string { return filepath.Join(dir, rel) }
	for _, d := range []string{"usr/bin", "etc/app", "var/lib/app/deep/er/still", "tmp", "srv/share", "data"} {
		if err := os.MkdirAll(p(d), 0o755); err != nil {
			return err
		}
	}
	files := map[string]string{
		"etc/hostname":                   "source\n",
		"etc/app/conf":                   "key=value\n",
		"usr/bin/tool":                   "#!/bin/sh\necho tool\n",
		"usr/bin/ping":                   "#!/bin/sh\necho ping\n",
		"var/lib/app/empty":              "",
		"var/lib/app/deep/er/still/leaf": "leaf\n",
		"data/owned":                     "owned by 1234:5678\n",
	}
	for name, content := range files {
		if err := os.WriteFile(p(name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	steps := []func() error{
		func() error { return unix.Chmod(p("usr/bin/tool"), 0o4755) },
		func() error { return unix.Chmod(p("tmp"), 0o1777) },
		func() error { return unix.Chmod(p("srv/share"), 0o2775) },
		func() error { return os.Lchown(p("data/owned"), 1234, 5678) },
		func() error { return run(ctx, "setcap", "cap_net_raw+ep", p("usr/bin/ping")) },
		func() error { return unix.Lsetxattr(p("etc/app/conf"), "user.drd.test", []byte("hello"), 0) },
		func() error { return unix.Lsetxattr(p("etc/app/conf"), "trusted.drd.test", []byte{0, 1, 2, 255}, 0) },
		func() error { return run(ctx, "setfacl", "-m", "u:1234:rw,g:5678:r", p("etc/app/conf")) },
		func() error { return run(ctx, "setfacl", "-d", "-m", "u:1234:rwx", p("srv/share")) },
		func() error { return writeSparse(p("var/lib/app/sparse.img")) },
		func() error { return writeBig(p("var/lib/app/big.bin"), 70<<20) },
		func() error { return os.Link(p("etc/hostname"), p("var/lib/app/hostname.link")) },
		func() error { return os.Link(p("etc/hostname"), p("data/hostname.link2")) },
		func() error { return os.Symlink("../hostname", p("etc/app/relative")) },
		func() error { return os.Symlink("/nonexistent/target", p("etc/app/dangling")) },
		func() error { return os.Symlink("/etc/hostname", p("data/absolute")) },
		func() error { return unix.Mknod(p("data/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))) },
		func() error { return unix.Mknod(p("data/blockdev"), unix.S_IFBLK|0o600, int(unix.Mkdev(7, 200))) },
		func() error { return unix.Mkfifo(p("data/fifo"), 0o600) },
		func() error { return makeSocket(p("data/socket")) },
		func() error {
			t := time.Date(2001, 2, 3, 4, 5, 6, 123456789, time.UTC)
			ts := []unix.Timespec{unix.NsecToTimespec(t.UnixNano()), unix.NsecToTimespec(t.UnixNano())}
			if err := unix.UtimesNanoAt(unix.AT_FDCWD, p("etc/app/dangling"), ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return err
			}
			return unix.UtimesNanoAt(unix.AT_FDCWD, p("var/lib/app/deep"), ts, 0)
		},
	}
	for i, s := range steps {
		if err := s(); err != nil {
			return fmt.Errorf("filling %s, step %d: %w", dir, i, err)
		}
	}
	return nil
}

// writeSparse writes a 64 MiB file with data at 0, 8 MiB, 40 MiB and the
// last byte, holes elsewhere.
func writeSparse(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, off := range []int64{0, 8 << 20, 40 << 20} {
		if _, err := f.WriteAt(pattern(256<<10, off), off); err != nil {
			return err
		}
	}
	if _, err := f.WriteAt([]byte{'z'}, 64<<20-1); err != nil {
		return err
	}
	return nil
}

func writeBig(path string, size int) error {
	return os.WriteFile(path, pattern(size, 7), 0o640)
}

func pattern(n int, seed int64) []byte {
	b := make([]byte, n)
	x := uint32(seed) | 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func makeSocket(path string) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Bind(fd, &unix.SockaddrUnix{Name: path})
}

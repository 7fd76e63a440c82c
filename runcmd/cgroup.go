package runcmd

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/internal/mountinfo"
)

// cgroup is the cgroup v2 group a jail runs in: drd finds in it every
// process of the jail, even after its init is gone.
type cgroup struct {
	dir string
	fd  int
}

// newCgroup makes a group for one jail below drd's own cgroup v2 group.
// procDir is /proc.
func newCgroup(procDir, name string) (*cgroup, error) {
	mounts, err := mountinfo.Read(procDir)
	if err != nil {
		return nil, err
	}
	var mnt string
	for _, m := range mounts {
		if m.FSType == "cgroup2" {
			mnt = m.MountPoint
			break
		}
	}
	if mnt == "" {
		return nil, errors.New("no cgroup v2 file system is mounted")
	}
	own, err := ownCgroup(filepath.Join(procDir, "self/cgroup"))
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(mnt, own, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("making cgroup %s: %w", dir, err)
	}
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		os.Remove(dir)
		return nil, err
	}
	return &cgroup{dir: dir, fd: fd}, nil
}

// ownCgroup reads the cgroup v2 path ("0::/path") of /proc/self/cgroup.
func ownCgroup(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s names no cgroup v2 group", path)
}

// procs lists the PIDs (as the booted system sees them) in the group.
func (c *cgroup) procs() []int {
	data, _ := os.ReadFile(filepath.Join(c.dir, "cgroup.procs"))
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids
}

// close kills whatever is still in the group, waits for it to empty and
// removes it. It returns the PIDs it had to kill.
func (c *cgroup) close() ([]int, error) {
	unix.Close(c.fd)
	left := c.procs()
	if len(left) > 0 {
		os.WriteFile(filepath.Join(c.dir, "cgroup.kill"), []byte("1"), 0)
	}
	var err error
	for i := 0; i < 500; i++ { // 5 s
		if err = unix.Rmdir(c.dir); !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return left, fmt.Errorf("removing cgroup %s: %w", c.dir, err)
	}
	return left, nil
}

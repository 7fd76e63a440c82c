package bootenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Holders names the processes that keep dir busy: their working
// directory, root, executable or an open file is at or below dir.
func Holders(procDir, dir string) []string {
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p := filepath.Join(procDir, e.Name())
		if why := holds(p, dir); why != "" {
			comm, _ := os.ReadFile(filepath.Join(p, "comm"))
			out = append(out, fmt.Sprintf("pid %d (%s) %s", pid, strings.TrimSpace(string(comm)), why))
		}
	}
	if len(out) == 0 {
		out = append(out, "no process holds it (a mount below it, or the kernel)")
	}
	return out
}

func holds(proc, dir string) string {
	in := func(p string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
	for _, l := range []string{"cwd", "root", "exe"} {
		if t, err := os.Readlink(filepath.Join(proc, l)); err == nil && in(t) {
			return l + " " + t
		}
	}
	fds, _ := os.ReadDir(filepath.Join(proc, "fd"))
	for _, fd := range fds {
		if t, err := os.Readlink(filepath.Join(proc, "fd", fd.Name())); err == nil && in(t) {
			return "has " + t + " open"
		}
	}
	return ""
}

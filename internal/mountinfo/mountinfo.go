// Package mountinfo reads the kernel's mount table (/proc/self/mountinfo):
// which file system is mounted where, from which device.
package mountinfo

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Mount is one line of /proc/self/mountinfo.
type Mount struct {
	ID, Parent   int
	Major, Minor uint32
	FSRoot       string // root of the mount within its file system ("/" unless a bind of a subtree)
	MountPoint   string // absolute path in the caller's mount namespace
	Options      string // per-mount options: rw,relatime
	FSType       string
	Source       string // /dev/loop0p3, tmpfs, server:/export
}

// Parse parses the text of /proc/self/mountinfo.
func Parse(data []byte) ([]Mount, error) {
	var ms []Mount
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, err := parseMountLine(line)
		if err != nil {
			return nil, fmt.Errorf("mountinfo line %d: %w", n, err)
		}
		ms = append(ms, m)
	}
	return ms, sc.Err()
}

func parseMountLine(line string) (Mount, error) {
	// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
	pre, post, ok := strings.Cut(line, " - ")
	if !ok {
		return Mount{}, fmt.Errorf("no ' - ' separator in %q", line)
	}
	f := strings.Fields(pre)
	g := strings.Fields(post)
	if len(f) < 6 || len(g) < 2 {
		return Mount{}, fmt.Errorf("too few fields in %q", line)
	}
	var m Mount
	var err error
	if m.ID, err = strconv.Atoi(f[0]); err != nil {
		return m, fmt.Errorf("mount id %q: %w", f[0], err)
	}
	if m.Parent, err = strconv.Atoi(f[1]); err != nil {
		return m, fmt.Errorf("parent id %q: %w", f[1], err)
	}
	maj, min, ok := strings.Cut(f[2], ":")
	if !ok {
		return m, fmt.Errorf("device %q is not major:minor", f[2])
	}
	ma, err1 := strconv.ParseUint(maj, 10, 32)
	mi, err2 := strconv.ParseUint(min, 10, 32)
	if err1 != nil || err2 != nil {
		return m, fmt.Errorf("device %q is not major:minor", f[2])
	}
	m.Major, m.Minor = uint32(ma), uint32(mi)
	m.FSRoot = Unescape(f[3])
	m.MountPoint = Unescape(f[4])
	m.Options = f[5]
	m.FSType = g[0]
	m.Source = Unescape(g[1])
	return m, nil
}

// Unescape undoes the \040-style escapes of mountinfo and fstab.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Read reads the mount table of the calling process.
func Read(procDir string) ([]Mount, error) {
	data, err := os.ReadFile(filepath.Join(procDir, "self/mountinfo"))
	if err != nil {
		return nil, fmt.Errorf("reading mount table: %w", err)
	}
	return Parse(data)
}

// Under returns the visible mounts at or below root, with their
// MountPoint made relative to root ("/", "/boot"). A mount is visible when
// it is the last one mounted on its mount point and its parent is visible
// too: mounting over /r hides what was mounted below the old /r.
func Under(ms []Mount, root string) []Mount {
	root = filepath.Clean(root)
	byID := map[int]int{}
	top := map[string]int{}
	for i, m := range ms {
		byID[m.ID] = i
		top[filepath.Clean(m.MountPoint)] = i
	}
	memo := map[int]bool{}
	var visible func(i, depth int) bool
	visible = func(i, depth int) bool {
		if v, ok := memo[i]; ok {
			return v
		}
		m := ms[i]
		v := top[filepath.Clean(m.MountPoint)] == i
		if p, ok := byID[m.Parent]; v && ok && p != i && depth < len(ms) {
			v = visible(p, depth+1)
		}
		memo[i] = v
		return v
	}
	var out []Mount
	for i, m := range ms {
		rel, ok := within(root, m.MountPoint)
		if !ok || !visible(i, 0) {
			continue
		}
		m.MountPoint = rel
		out = append(out, m)
	}
	return out
}

// within reports whether p is root or below it, and p relative to root
// as an absolute path.
func within(root, p string) (string, bool) {
	p = filepath.Clean(p)
	if root == "/" {
		return p, true
	}
	if p == root {
		return "/", true
	}
	if strings.HasPrefix(p, root+"/") {
		return p[len(root):], true
	}
	return "", false
}

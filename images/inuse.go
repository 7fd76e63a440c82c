package images

import (
	"errors"
	"fmt"
	"github.com/drd-linux/drd/internal/mountinfo"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// InUse returns the reasons why dev (usually a whole disk) must not be
// overwritten: the disk or one of its partitions is mounted, is active
// swap, is held by device-mapper (LVM, crypt) or RAID, or backs a loop
// device. No reasons means drd may write it. sysDir and procDir are "/sys"
// and "/proc" or test trees.
func InUse(sysDir, procDir string, dev Device) ([]string, error) {
	all, err := Devices(sysDir)
	if err != nil {
		return nil, err
	}
	mounts, err := mountinfo.Read(procDir)
	if err != nil {
		return nil, fmt.Errorf("checking whether %s is in use: %w", dev.Path, err)
	}
	for i, m := range mounts {
		// btrfs and others show an anonymous device number: the source
		// names the device, perhaps through a link (/dev/mapper/x)
		if m.Major == 0 && strings.HasPrefix(m.Source, "/dev/") {
			if p, err := filepath.EvalSymlinks(m.Source); err == nil {
				mounts[i].Source = p
			}
		}
	}
	sw, err := os.ReadFile(filepath.Join(procDir, "swaps"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("checking whether %s is in use: %w", dev.Path, err)
	}
	labels := map[string]string{}
	for _, d := range all {
		if b, err := os.ReadFile(filepath.Join(sysDir, "class", "block", d.Name, "dm", "name")); err == nil {
			labels[d.Name] = strings.TrimSpace(string(b))
		}
	}
	return inUseReasons(dev, all, mounts, parseSwaps(sw), labels), nil
}

// swapEntry is a line of /proc/swaps.
type swapEntry struct{ Name, Type string }

// parseSwaps parses /proc/swaps: a header, then "name type size used prio".
func parseSwaps(b []byte) []swapEntry {
	var out []swapEntry
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 2 {
			continue
		}
		out = append(out, swapEntry{mountinfo.Unescape(f[0]), f[1]})
	}
	return out
}

// inUseReasons is InUse on parsed inputs. labels gives device-mapper
// names (dm-0 -> vg-root).
func inUseReasons(dev Device, all []Device, mounts []mountinfo.Mount, swaps []swapEntry, labels map[string]string) []string {
	byName := map[string]Device{}
	for _, d := range all {
		byName[d.Name] = d
	}
	targets := []Device{dev}
	if !dev.IsPartition() {
		for _, d := range all {
			if d.Disk == dev.Name && d.IsPartition() {
				targets = append(targets, d)
			}
		}
		sort.SliceStable(targets[1:], func(i, j int) bool { return targets[1+i].Partition < targets[1+j].Partition })
	}
	name := func(d Device) string {
		if l := labels[d.Name]; l != "" {
			return fmt.Sprintf("%s (%s)", d.Name, l)
		}
		return d.Name
	}

	var reasons []string
	seen := map[string]bool{}
	add := func(format string, args ...any) {
		r := fmt.Sprintf(format, args...)
		if !seen[r] {
			seen[r] = true
			reasons = append(reasons, r)
		}
	}
	visited := map[string]bool{}
	var check func(d Device)
	check = func(d Device) {
		if visited[d.Name] {
			return
		}
		visited[d.Name] = true
		for _, m := range mounts {
			if (m.Major == d.Major && m.Minor == d.Minor) || sameDevicePath(m.Source, d.Name) {
				add("%s is mounted on %s (%s)", name(d), m.MountPoint, m.FSType)
			}
		}
		for _, s := range swaps {
			if s.Type == "partition" && sameDevicePath(s.Name, d.Name) {
				add("%s is active swap", name(d))
			}
		}
		for _, l := range all {
			if l.BackingFile != "" && sameDevicePath(l.BackingFile, d.Name) {
				add("%s is the backing device of %s", name(d), l.Name)
				check(l)
			}
			if m, ok := mountHolding(l.BackingFile, mounts); ok && ((m.Major == d.Major && m.Minor == d.Minor) || sameDevicePath(m.Source, d.Name)) {
				add("%s backs %s with %s", name(d), l.Name, l.BackingFile)
			}
		}
		for _, h := range d.Holders {
			hd, ok := byName[h]
			kind := "device-mapper (LVM, crypt)"
			if strings.HasPrefix(h, "md") {
				kind = "RAID"
			}
			if !ok {
				add("%s is held by %s (%s)", name(d), h, kind)
				continue
			}
			add("%s is held by %s, %s", name(d), name(hd), kind)
			check(hd)
		}
	}
	for _, t := range targets {
		check(t)
	}
	return reasons
}

// sameDevicePath tells whether path (a mount source, swap or loop backing
// file) is the device node /dev/<name>.
func sameDevicePath(path, name string) bool {
	return path == "/dev/"+name
}

// mountHolding finds the mount whose mount point is the longest prefix of
// file.
func mountHolding(file string, mounts []mountinfo.Mount) (mountinfo.Mount, bool) {
	if file == "" || !strings.HasPrefix(file, "/") {
		return mountinfo.Mount{}, false
	}
	best, found := mountinfo.Mount{}, false
	for _, m := range mounts {
		mp := m.MountPoint
		if mp == "/" || file == mp || strings.HasPrefix(file, strings.TrimSuffix(mp, "/")+"/") {
			if !found || len(mp) > len(best.MountPoint) {
				best, found = m, true
			}
		}
	}
	return best, found
}

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// FSCheck is the check of one file system of a disk image.
type FSCheck struct {
	Where  string // "partition 3", "LV sysvg/root"
	Type   string // blkid's TYPE; "" when there is no file system
	Clean  bool
	Output string
}

func (c FSCheck) String() string {
	state := "clean"
	if !c.Clean {
		state = "NOT CLEAN"
	}
	return fmt.Sprintf("%s (%s): %s", c.Where, c.Type, state)
}

// FsckDisk checks, read-only, every file system of the raw disk image
// path on the host: the partitions of its GPT (made visible with partx, as
// the host kernel does not read partition tables) and the linear logical
// volumes of LVM physical volumes on it (mapped with loop devices at their
// offsets, as the host has no device mapper). Partitions without a file
// system are listed with an empty Type and count as clean.
func FsckDisk(ctx context.Context, path string) ([]FSCheck, error) {
	loop, err := losetup(ctx, path, 0, 0)
	if err != nil {
		return nil, err
	}
	defer run(context.Background(), "losetup", "-d", loop)
	parts, err := partitions(ctx, loop)
	if err != nil {
		return nil, err
	}
	defer run(context.Background(), "partx", "-d", loop)
	var checks []FSCheck
	for i, dev := range parts {
		where := fmt.Sprintf("partition %d", i+1)
		if len(parts) == 1 && dev == loop {
			where = "whole disk"
		}
		typ, _ := run(ctx, "blkid", "-p", "-o", "value", "-s", "TYPE", dev)
		typ = strings.TrimSpace(typ)
		if typ == "LVM2_member" {
			lvs, err := checkLVs(ctx, dev)
			if err != nil {
				return checks, fmt.Errorf("%s of %s: %w", where, path, err)
			}
			checks = append(checks, lvs...)
			continue
		}
		checks = append(checks, fsck(ctx, where, typ, dev))
	}
	return checks, nil
}

// fsck checks the file system of type typ on dev without changing it.
func fsck(ctx context.Context, where, typ, dev string) FSCheck {
	c := FSCheck{Where: where, Type: typ}
	var cmd *exec.Cmd
	switch typ {
	case "":
		c.Clean, c.Output = true, "no file system"
		return c
	case "ext2", "ext3", "ext4":
		cmd = exec.CommandContext(ctx, "e2fsck", "-f", "-n", dev)
	case "vfat":
		cmd = exec.CommandContext(ctx, "fsck.vfat", "-n", dev)
	case "xfs":
		cmd = exec.CommandContext(ctx, "xfs_repair", "-n", dev)
	default:
		c.Output = "the harness cannot check file systems of type " + typ
		return c
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	c.Output = string(out)
	c.Clean = err == nil
	return c
}

// losetup attaches a read-only loop device to path (from offset, size
// bytes; 0: all).
func losetup(ctx context.Context, path string, offset, size int64) (string, error) {
	args := []string{"-f", "--show", "-r"}
	if offset > 0 {
		args = append(args, "-o", strconv.FormatInt(offset, 10))
	}
	if size > 0 {
		args = append(args, "--sizelimit", strconv.FormatInt(size, 10))
	}
	out, err := run(ctx, "losetup", append(args, path)...)
	if err != nil {
		return "", fmt.Errorf("attaching %s to a loop device: %w", path, err)
	}
	return strings.TrimSpace(out), nil
}

// partitions adds loop's partitions and returns their devices in order, or
// loop itself when it has no partition table.
func partitions(ctx context.Context, loop string) ([]string, error) {
	out, err := run(ctx, "partx", "-g", "-o", "NR", loop)
	if err != nil || strings.TrimSpace(out) == "" {
		return []string{loop}, nil
	}
	if _, err := run(ctx, "partx", "-a", loop); err != nil {
		return nil, fmt.Errorf("adding the partitions of %s: %w", loop, err)
	}
	var devs []string
	for _, nr := range strings.Fields(out) {
		dev := fmt.Sprintf("%sp%s", loop, nr)
		for i := 0; ; i++ {
			if _, err := os.Stat(dev); err == nil {
				break
			}
			if i == 50 {
				return nil, fmt.Errorf("partition %s of %s did not appear in /dev after partx -a", dev, loop)
			}
			time.Sleep(100 * time.Millisecond)
		}
		devs = append(devs, dev)
	}
	return devs, nil
}

// pvSeg is one segment of an LVM physical volume, as pvs reports it.
type pvSeg struct {
	VG, LV              string
	Start, Size, Extent int64 // extents, extents, bytes per extent
	PEStart             int64 // bytes before the first extent
}

// parsePVSegs reads `pvs --segments` output with the fields of pvsFields.
func parsePVSegs(out string) ([]pvSeg, error) {
	var segs []pvSeg
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 6 {
			return nil, fmt.Errorf("cannot read pvs line %q", line)
		}
		var n [4]int64
		for i, s := range []string{f[2], f[3], f[4], f[5]} {
			v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("cannot read pvs line %q: %w", line, err)
			}
			n[i] = v
		}
		segs = append(segs, pvSeg{VG: f[0], LV: f[1], Start: n[0], Size: n[1], Extent: n[2], PEStart: n[3]})
	}
	return segs, nil
}

const pvsFields = "vg_name,lv_name,pvseg_start,pvseg_size,vg_extent_size,pe_start"

// checkLVs checks the logical volumes on the physical volume pv. An LV
// must be one linear segment on this PV to be mapped without device mapper.
func checkLVs(ctx context.Context, pv string) ([]FSCheck, error) {
	cfg := fmt.Sprintf(`devices { filter=["a|^%s$|","r|.*|"] use_devicesfile=0 } global { locking_type=0 }`, pv)
	out, err := run(ctx, "pvs", "--config", cfg, "--segments", "--noheadings", "--separator", "|",
		"--units", "b", "--nosuffix", "-o", pvsFields, pv)
	if err != nil {
		return nil, fmt.Errorf("reading the LVM metadata: %w", err)
	}
	segs, err := parsePVSegs(out)
	if err != nil {
		return nil, err
	}
	count := map[string]int{}
	for _, s := range segs {
		count[s.LV]++
	}
	var checks []FSCheck
	for _, s := range segs {
		if s.LV == "" {
			continue // free space
		}
		where := "LV " + s.VG + "/" + s.LV
		if count[s.LV] > 1 {
			checks = append(checks, FSCheck{Where: where, Output: "the LV has several segments; the host cannot map it without device mapper"})
			continue
		}
		loop, err := losetup(ctx, pv, s.PEStart+s.Start*s.Extent, s.Size*s.Extent)
		if err != nil {
			return checks, err
		}
		typ, _ := run(ctx, "blkid", "-p", "-o", "value", "-s", "TYPE", loop)
		checks = append(checks, fsck(ctx, where, strings.TrimSpace(typ), loop))
		run(context.Background(), "losetup", "-d", loop)
	}
	return checks, nil
}

// FsckImage is FsckDisk of a VM disk: a qcow2 overlay is first converted
// to a raw image in dir.
func FsckImage(ctx context.Context, path, dir string) ([]FSCheck, error) {
	if strings.HasSuffix(path, ".qcow2") {
		raw := filepath.Join(dir, strings.TrimSuffix(filepath.Base(path), ".qcow2")+".raw")
		if _, err := run(ctx, "qemu-img", "convert", "-O", "raw", path, raw); err != nil {
			return nil, err
		}
		defer os.Remove(raw)
		path = raw
	}
	return FsckDisk(ctx, path)
}

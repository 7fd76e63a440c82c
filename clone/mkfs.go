package clone

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/drd-linux/drd/internal/execrun"
)

// mkfsArgs reads the properties of f's source file system and returns the
// mkfs command line that makes its clone on dev, and the features kept.
func mkfsArgs(ctx context.Context, run execrun.Runner, f TargetFS, dev string, size int64) ([]string, string, error) {
	switch f.Type {
	case "xfs":
		src := f.Src.Device
		if f.Src.Mounted() {
			src = f.Src.HostPath
		}
		out, err := run.Run(ctx, "xfs_info", src)
		if err != nil {
			return nil, "", fmt.Errorf("reading the features of %s (%s): %w", f.MountPoint, f.Src.Device, err)
		}
		p, err := parseXFSInfo(out)
		if err != nil {
			return nil, "", fmt.Errorf("%s (%s): %w", f.MountPoint, f.Src.Device, err)
		}
		return mkfsXFSArgs(p, dev, f.ID.Label, f.ID.UUID), strings.Join(append(p.meta, p.inode...), ","), nil
	default:
		out, err := run.Run(ctx, "tune2fs", "-l", f.Src.Device)
		if err != nil {
			return nil, "", fmt.Errorf("reading the features of %s (%s): %w", f.MountPoint, f.Src.Device, err)
		}
		p, err := parseTune2fs(out)
		if err != nil {
			return nil, "", fmt.Errorf("%s (%s): %w", f.MountPoint, f.Src.Device, err)
		}
		return mkfsExtArgs(f.Type, p, dev, f.ID.Label, f.ID.UUID, size, f.Inodes), strings.Join(p.features, ","), nil
	}
}

// extParams are the properties of a source ext2/3/4 file system that its
// clone keeps.
type extParams struct {
	features  []string
	blockSize int
	inodeSize int
	reserved  int // percent of blocks reserved for root
}

// runtimeFeatures are states, not properties: tune2fs lists them, mkfs
// must not be given them.
var runtimeFeatures = map[string]bool{"needs_recovery": true, "orphan_present": true}

// parseTune2fs reads the output of `tune2fs -l`.
func parseTune2fs(out []byte) (extParams, error) {
	var p extParams
	var blocks, reserved int64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Filesystem features":
			for _, f := range strings.Fields(v) {
				if f == "journal_dev" {
					return p, fmt.Errorf("the file system uses an external journal device, which drd cannot clone")
				}
				if !runtimeFeatures[f] {
					p.features = append(p.features, f)
				}
			}
		case "Block size":
			p.blockSize, _ = strconv.Atoi(v)
		case "Inode size":
			p.inodeSize, _ = strconv.Atoi(v)
		case "Block count":
			blocks, _ = strconv.ParseInt(v, 10, 64)
		case "Reserved block count":
			reserved, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if len(p.features) == 0 || p.blockSize == 0 {
		return p, fmt.Errorf("tune2fs printed no features or block size")
	}
	if blocks > 0 {
		p.reserved = int((reserved*100 + blocks/2) / blocks)
	}
	return p, nil
}

// mkfsExtArgs is the mkfs command line that makes a file system like the
// source's on dev, with the clone's label and UUID and room for at least
// inodes inodes (a smaller clone must not run out of inodes before space).
func mkfsExtArgs(typ string, p extParams, dev, label, uuid string, size, inodes int64) []string {
	args := []string{"-t", typ, "-F", "-q",
		"-O", "none," + strings.Join(p.features, ","),
		"-b", strconv.Itoa(p.blockSize),
		"-L", label, "-U", uuid,
		"-m", strconv.Itoa(p.reserved),
		"-E", "lazy_itable_init=1,lazy_journal_init=1",
	}
	if p.inodeSize > 0 {
		args = append(args, "-I", strconv.Itoa(p.inodeSize))
	}
	if n := max(size/16384, inodes+inodes/4+1024); n > size/16384 {
		args = append(args, "-N", strconv.FormatInt(n, 10))
	}
	return append(args, dev)
}

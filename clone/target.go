package clone

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/images"
)

// targetFacts is what drd learns about a target before it decides.
type targetFacts struct {
	path      string
	isBlock   bool
	exists    bool
	partition bool          // a partition, not a whole disk
	size      int64         // bytes (0 for an image file not made yet)
	inUse     []string      // why the disk is busy
	signature string        // "gpt", "dos", "ext4"... found on it
	disk      string        // /dev/vdb for a block device
	wholeDisk string        // the disk a partition target is on, from sysfs: /dev/nvme0n1 of /dev/nvme0n1p2
	loops     []string      // loop devices already attached to this image file
	retired   retiredOnDisk // the retired image the disk holds, and what else
}

// readTarget gathers the facts about a target, changing nothing.
func readTarget(sysDir, procDir, target string) (targetFacts, error) {
	f := targetFacts{path: target}
	st, err := os.Stat(target)
	if errors.Is(err, fs.ErrNotExist) {
		if strings.HasPrefix(target, "/dev/") {
			return f, fmt.Errorf("target %s does not exist: give a whole disk (lsblk lists them) or an image file path outside /dev", target)
		}
		if _, err := os.Stat(filepath.Dir(target)); err != nil {
			return f, fmt.Errorf("target %s: its directory does not exist: %w", target, err)
		}
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("target %s: %w", target, err)
	}
	f.exists = true
	switch {
	case st.Mode()&fs.ModeDevice != 0 && st.Mode()&fs.ModeCharDevice == 0:
		f.isBlock = true
		d, err := images.DeviceByPath(sysDir, target)
		if err != nil {
			return f, fmt.Errorf("target %s: %w", target, err)
		}
		f.disk, f.size, f.partition = d.Path, d.Size, d.IsPartition()
		f.wholeDisk = "/dev/" + d.Disk
		if f.inUse, err = images.InUse(sysDir, procDir, d); err != nil {
			return f, fmt.Errorf("target %s: checking what uses it: %w", target, err)
		}
	case st.Mode().IsRegular():
		f.size = st.Size()
		abs, _ := filepath.Abs(target)
		devs, err := images.Devices(sysDir)
		if err != nil {
			return f, err
		}
		for _, d := range devs {
			if d.BackingFile != "" && sameFile(d.BackingFile, abs) {
				f.loops = append(f.loops, d.Path)
				busy, err := images.InUse(sysDir, procDir, d)
				if err != nil {
					return f, err
				}
				f.inUse = append(f.inUse, busy...)
			}
		}
	default:
		return f, fmt.Errorf("target %s is neither a block device nor a regular file", target)
	}
	file, err := os.Open(target)
	if err != nil {
		return f, fmt.Errorf("target %s: %w", target, err)
	}
	defer file.Close()
	f.signature = signatureOf(file, f.size)
	return f, nil
}

func signatureOf(r io.ReaderAt, size int64) string {
	if size == 0 {
		return ""
	}
	if t := images.PartitionTable(r, size); t != "" {
		return t + " partition table"
	}
	if sig, err := images.Probe(r, size); err == nil {
		return sig.Type + " signature"
	}
	return ""
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// checkTarget decides whether a target may receive the clone. It is pure:
// every refusal names the target, the reason and what to do.
func checkTarget(f targetFacts, src *bootenv.Layout, need int64, overwrite bool) error {
	t := f.path
	if f.partition {
		return fmt.Errorf("target %s is a partition of %s; drd clone needs a whole disk (e.g. %s) or an image file", t, f.wholeDisk, f.wholeDisk)
	}
	if f.isBlock {
		for _, c := range src.Critical {
			if c.Dev.Disk == f.disk {
				return fmt.Errorf("target %s holds the booted image's %s (%s): choose another disk", t, c.MountPoint, c.Device)
			}
		}
	}
	if len(f.inUse) > 0 {
		return fmt.Errorf("target %s is in use: %s; free it first (umount, swapoff, vgchange -an)", t, strings.Join(f.inUse, "; "))
	}
	if f.exists && f.size < need {
		return fmt.Errorf("target %s has %s; the clone needs at least %s (the critical file systems' used space plus 10%%, and boot partitions): use a larger disk or -x image_size",
			t, humanSize(f.size), humanSize(need))
	}
	if f.signature != "" && !overwrite && f.retired.image != "" && len(f.retired.other) > 0 {
		return fmt.Errorf("target %s holds the retired image %s, but also %s: to overwrite all of it, run again with -x overwrite=true",
			t, f.retired.image, strings.Join(f.retired.other, ", "))
	}
	if f.signature != "" && !overwrite && f.retired.image == "" {
		return fmt.Errorf("target %s carries data (found: %s): to overwrite it, run again with -x overwrite=true", t, f.signature)
	}
	return nil
}

package images

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// openDisk opens an image file or a block device. A block device opened
// for writing is opened exclusively, which the kernel refuses while any
// of its partitions is mounted or held.
func openDisk(path string, write bool) (*disk, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	isDev := fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0
	mode := os.O_RDONLY
	if write {
		mode = os.O_RDWR
		if isDev {
			mode |= unix.O_EXCL
		}
	}
	f, err := os.OpenFile(path, mode, 0)
	if err != nil {
		return nil, err
	}
	d := &disk{f: f, sectorSize: 512}
	if d.size, err = f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, err
	}
	if isDev {
		ss, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKSSZGET)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("logical sector size: %w", err)
		}
		d.sectorSize = int64(ss)
	} else if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("not an image file nor a block device")
	}
	return d, nil
}

// disk is an open image file or block device with its size and logical
// sector size.
type disk struct {
	f          *os.File
	size       int64
	sectorSize int64
}

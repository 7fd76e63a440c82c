package images

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"github.com/diskfs/go-diskfs/backend"
	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/filesystem/fat12"
	"github.com/diskfs/go-diskfs/filesystem/fat16"
	"github.com/diskfs/go-diskfs/filesystem/fat32"
)

// openFATBackend opens dev for go-diskfs and returns its size.
func openFATBackend(dev string, readOnly bool) (backend.Storage, int64, error) {
	b, err := file.OpenFromPath(dev, readOnly)
	if err != nil {
		return nil, 0, err
	}
	size, err := b.Seek(0, io.SeekEnd)
	if err != nil {
		b.Close()
		return nil, 0, err
	}
	return b, size, nil
}

// fatFS is an open FAT file system with the backend to close.
type fatFS struct {
	filesystem.FileSystem
	b backend.Storage
}

func (f *fatFS) Close() error { return f.b.Close() }

// finish repairs what go-diskfs leaves for fsck.fat to complain about
// (see fixFAT32) after writing to a FAT32 file system.
func (f *fatFS) finish() error {
	w, err := f.b.Writable()
	if err != nil {
		return err
	}
	if err := fixFAT32(w); err != nil {
		return fmt.Errorf("checking the written file system: %w", err)
	}
	return nil
}

// openFAT opens the FAT12, FAT16 or FAT32 file system on dev.
func openFAT(dev string, readOnly bool) (*fatFS, error) {
	b, size, err := openFATBackend(dev, readOnly)
	if err != nil {
		return nil, err
	}
	boot := make([]byte, 512)
	if _, err := b.ReadAt(boot, 0); err != nil {
		b.Close()
		return nil, fmt.Errorf("reading boot sector: %w", err)
	}
	p, ok := parseFATBootSector(boot)
	if !ok {
		b.Close()
		return nil, errors.New("no FAT file system")
	}
	if !readOnly && !p.fat32 {
		b.Close()
		return nil, errors.New("drd writes only to FAT32 file systems, this one is FAT12/16")
	}
	var fs filesystem.FileSystem
	switch clusters := (int64(p.totalSectors)*int64(p.bytesPerSector) - p.dataStart()) / p.clusterBytes(); {
	case p.fat32:
		fs, err = fat32.Read(b, size, 0, int64(p.bytesPerSector))
	case clusters < 4085:
		fs, err = fat12.Read(b, size, 0, 512)
	default:
		fs, err = fat16.Read(b, size, 0, 512)
	}
	if err != nil {
		b.Close()
		return nil, err
	}
	return &fatFS{FileSystem: fs, b: b}, nil
}

// ReadFATFile reads the file name (/EFI/BOOT/BOOTX64.EFI) of the FAT file
// system on dev; names match without regard to case, as in FAT.
func ReadFATFile(dev, name string) ([]byte, error) {
	fs, err := openFAT(dev, true)
	if err != nil {
		return nil, fmt.Errorf("reading %s from %s: %w", name, dev, err)
	}
	defer fs.Close()
	f, data, err := readFATFile(fs, fatPath(name))
	if err == nil {
		f.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s from %s: %w", name, dev, err)
	}
	return data, nil
}

// WriteFATFile writes data to the file name of the FAT32 file system on
// dev, making missing directories and replacing an existing file.
func WriteFATFile(dev, name string, data []byte) error {
	fs, err := openFAT(dev, false)
	if err != nil {
		return fmt.Errorf("writing %s to %s: %w", name, dev, err)
	}
	defer fs.Close()
	err = writeFATFile(fs, fatPath(name), data, time.Now())
	if err == nil {
		err = fs.finish()
	}
	if err != nil {
		return fmt.Errorf("writing %s to %s: %w", name, dev, err)
	}
	return nil
}

// readFATFile opens p and reads it whole in one Read: go-diskfs walks the
// cluster chain on every call, so small reads are quadratic.
func readFATFile(fs filesystem.FileSystem, p string) (filesystem.File, []byte, error) {
	f, err := fs.OpenFile(p, os.O_RDONLY)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if info.IsDir() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is a directory", p)
	}
	data := make([]byte, info.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, data, nil
}

func fatPath(name string) string { return path.Clean("/" + name) }

func writeFATFile(fs filesystem.FileSystem, p string, data []byte, mtime time.Time) error {
	if dir := path.Dir(p); dir != "/" {
		if err := fs.Mkdir(dir); err != nil {
			return err
		}
	}
	f, err := fs.OpenFile(p, os.O_CREATE|os.O_RDWR|os.O_TRUNC)
	if err != nil {
		return err
	}
	defer f.Close()
	// one Write: go-diskfs walks the cluster chain on every call
	if len(data) > 0 {
		if _, err := f.Write(data); err != nil {
			return err
		}
	}
	return fs.Chtimes(p, mtime, mtime, mtime)
}

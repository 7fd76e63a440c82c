package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/diskfs/go-diskfs/backend"
	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/filesystem/fat12"
	"github.com/diskfs/go-diskfs/filesystem/fat16"
	"github.com/diskfs/go-diskfs/filesystem/fat32"
)

// FAT32 limits for MakeFAT32. A FAT32 file system needs at least 65525
// clusters, or every reader takes it for FAT16; with the 512-byte
// clusters used below 260 MiB that makes about 32.5 MiB, so ask for
// 33 MiB or more. Above 32 GiB formatters refuse FAT32 by convention and
// go-diskfs's 16-bit FAT size would overflow.
const (
	FAT32MinClusters = 65525
	FAT32MaxSize     = 32 << 30
)

// ErrTooSmall is returned when a partition cannot hold what is asked.
var ErrTooSmall = errors.New("too small")

// fat32Layout computes the cluster count go-diskfs's fat32.Create gives a
// volume of size bytes with 512-byte sectors (same table as mkfs.fat).
func fat32Layout(size int64) (clusters int64, clusterBytes int64) {
	const reserved, ss = 32, 512
	switch {
	case size <= 260<<20:
		clusterBytes = 512
	case size <= 8<<30:
		clusterBytes = 4 << 10
	case size <= 16<<30:
		clusterBytes = 8 << 10
	case size <= 32<<30:
		clusterBytes = 16 << 10
	default:
		clusterBytes = 32 << 10
	}
	spc := clusterBytes / ss
	total := size / ss
	if total <= reserved {
		return 0, clusterBytes
	}
	denom := ss*spc + 8
	spf := (4*(total-reserved) + denom - 1) / denom
	data := total - reserved - 2*spf
	if data <= 0 {
		return 0, clusterBytes
	}
	return data / spc, clusterBytes
}

// checkFAT32 tells why a FAT32 file system of size bytes with label
// cannot be made, or returns nil.
func checkFAT32(size int64, label string) error {
	if c, _ := fat32Layout(size); c < FAT32MinClusters {
		return fmt.Errorf("%w for FAT32: %d bytes give %d clusters, FAT32 needs %d: make the partition at least 33 MiB", ErrTooSmall, size, c, FAT32MinClusters)
	}
	if size > FAT32MaxSize {
		return fmt.Errorf("%d bytes is more than the 32 GiB drd formats as FAT32", size)
	}
	if len(label) > 11 {
		return fmt.Errorf("FAT label %q is longer than 11 bytes", label)
	}
	for _, r := range label {
		if r < 0x20 || r > 0x7e || strings.ContainsRune(`"*+,./:;<=>?[\]|`, r) {
			return fmt.Errorf("FAT label %q: character %q is not allowed", label, r)
		}
	}
	return nil
}

// MakeFAT32 makes a FAT32 file system over the whole of dev (a partition
// device or an image file) with go-diskfs. size 0 means the size of dev.
// volumeID becomes the UUID blkid reports (XXXX-XXXX), label the
// LABEL ("" for none). Old signatures at the start and end of dev are
// cleared first, so blkid sees nothing but the new file system.
func MakeFAT32(dev string, size int64, label string, volumeID uint32) error {
	b, devSize, err := openFATBackend(dev, false)
	if err != nil {
		return fmt.Errorf("making FAT32 on %s: %w", dev, err)
	}
	defer b.Close()
	if size == 0 {
		size = devSize
	}
	if size > devSize {
		return fmt.Errorf("making FAT32 on %s: %w: %d bytes asked, device has %d", dev, ErrTooSmall, size, devSize)
	}
	if err := checkFAT32(size, label); err != nil {
		return fmt.Errorf("making FAT32 on %s: %w", dev, err)
	}
	w, err := b.Writable()
	if err != nil {
		return fmt.Errorf("making FAT32 on %s: %w", dev, err)
	}
	zero := make([]byte, wipeBytes)
	for _, s := range wipeSpans(size, nil) {
		if _, err := w.WriteAt(zero[:s.n], s.off); err != nil {
			return fmt.Errorf("making FAT32 on %s: clearing old signatures: %w", dev, err)
		}
	}
	if _, err := fat32.Create(b, size, 0, 512, label, true); err != nil {
		return fmt.Errorf("making FAT32 on %s: %w", dev, err)
	}
	if err := fixFAT32(w); err != nil {
		return fmt.Errorf("making FAT32 on %s: %w", dev, err)
	}
	// go-diskfs takes no volume ID: set it in the boot sector and its
	// backup (sector 6).
	id := []byte{byte(volumeID), byte(volumeID >> 8), byte(volumeID >> 16), byte(volumeID >> 24)}
	for _, sector := range []int64{0, 6} {
		if _, err := w.WriteAt(id, sector*512+0x43); err != nil {
			return fmt.Errorf("making FAT32 on %s: writing volume ID: %w", dev, err)
		}
	}
	if f, ok := w.(interface{ Sync() error }); ok {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("making FAT32 on %s: %w", dev, err)
		}
	}
	return nil
}

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

// ReadFATFile reads the file at path (/EFI/BOOT/BOOTX64.EFI) in the FAT
// file system on dev; names match without regard to case, as in FAT.
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

// WriteFATFile writes data to the file at path in the FAT file system on
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

// CopyFAT copies every directory and file of the FAT file system on
// srcDev into the one on dstDev (made by MakeFAT32), keeping names,
// modification times and the hidden, system and read-only attributes. It
// reads and writes with go-diskfs, so neither needs to be mounted nor the
// kernel to know FAT. It returns the number of files copied.
func CopyFAT(ctx context.Context, srcDev, dstDev string) (files int, err error) {
	src, err := openFAT(srcDev, true)
	if err != nil {
		return 0, fmt.Errorf("copying FAT %s to %s: source: %w", srcDev, dstDev, err)
	}
	defer src.Close()
	dst, err := openFAT(dstDev, false)
	if err != nil {
		return 0, fmt.Errorf("copying FAT %s to %s: target: %w", srcDev, dstDev, err)
	}
	defer dst.Close()
	files, err = copyFATDir(ctx, src, dst, "/")
	if err == nil {
		err = dst.finish()
	}
	if err != nil {
		return files, fmt.Errorf("copying FAT %s to %s: %w", srcDev, dstDev, err)
	}
	return files, nil
}

// attrFile is what go-diskfs's FAT files tell and set about attributes.
type attrFile interface {
	IsHidden() bool
	IsSystem() bool
	IsReadOnly() bool
	SetHidden(bool) error
	SetSystem(bool) error
	SetReadOnly(bool) error
}

func copyFATDir(ctx context.Context, src, dst filesystem.FileSystem, dir string) (int, error) {
	rel := strings.TrimPrefix(dir, "/") // go-diskfs's ReadDir wants io/fs paths
	if rel == "" {
		rel = "."
	}
	entries, err := src.ReadDir(rel)
	if err != nil {
		return 0, fmt.Errorf("reading directory %s: %w", dir, err)
	}
	files := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return files, err
		}
		p := path.Join(dir, e.Name())
		info, err := e.Info()
		if err != nil {
			return files, fmt.Errorf("%s: %w", p, err)
		}
		if e.IsDir() {
			if err := dst.Mkdir(p); err != nil {
				return files, fmt.Errorf("making directory %s: %w", p, err)
			}
			n, err := copyFATDir(ctx, src, dst, p)
			files += n
			if err != nil {
				return files, err
			}
		} else {
			if err := copyFATFile(src, dst, p, info.ModTime()); err != nil {
				return files, fmt.Errorf("copying %s: %w", p, err)
			}
			files++
		}
		if err := dst.Chtimes(p, info.ModTime(), info.ModTime(), info.ModTime()); err != nil {
			return files, fmt.Errorf("setting times of %s: %w", p, err)
		}
	}
	return files, nil
}

func copyFATFile(src, dst filesystem.FileSystem, p string, mtime time.Time) error {
	in, data, err := readFATFile(src, p)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := writeFATFile(dst, p, data, mtime); err != nil {
		return err
	}
	a, ok := in.(attrFile)
	if !ok || !(a.IsHidden() || a.IsSystem() || a.IsReadOnly()) {
		return nil
	}
	out, err := dst.OpenFile(p, os.O_RDWR)
	if err != nil {
		return err
	}
	defer out.Close()
	b, ok := out.(attrFile)
	if !ok {
		return nil
	}
	for _, set := range []struct {
		on bool
		fn func(bool) error
	}{{a.IsHidden(), b.SetHidden}, {a.IsSystem(), b.SetSystem}, {a.IsReadOnly(), b.SetReadOnly}} {
		if set.on {
			if err := set.fn(true); err != nil {
				return fmt.Errorf("setting attributes: %w", err)
			}
		}
	}
	return nil
}

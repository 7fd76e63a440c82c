package images

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/diskfs/go-diskfs/filesystem"
)

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

package treecmp

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"

	"golang.org/x/sys/unix"
)

// extent is a range of data, [Start, End), in a regular file.
type extent struct{ start, end int64 }

// compareContents compares the holes and the data of the regular files
// paths (of equal size in both trees), several files at a time.
func compareContents(a, b *tree, paths []string) ([]Diff, error) {
	var (
		mu       sync.Mutex
		diffs    []Diff
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan string)
	for range min(4, max(2, runtime.NumCPU())) {
		wg.Go(func() {
			buf := make([]byte, 1<<20)
			for p := range work {
				d, err := compareFile(a, b, p, buf)
				mu.Lock()
				diffs = append(diffs, d...)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	for _, p := range paths {
		work <- p
	}
	close(work)
	wg.Wait()
	return diffs, firstErr
}

// compareFile compares where the data of one file lies (its holes) and what
// the data is.
func compareFile(a, b *tree, p string, buf []byte) ([]Diff, error) {
	size := a.entries[p].st.Size
	fa, err := openNoatime(a.full(p))
	if err != nil {
		return nil, err
	}
	defer fa.Close()
	fb, err := openNoatime(b.full(p))
	if err != nil {
		return nil, err
	}
	defer fb.Close()
	ma, err := dataMap(fa, size)
	if err != nil {
		return nil, err
	}
	mb, err := dataMap(fb, size)
	if err != nil {
		return nil, err
	}
	var diffs []Diff
	sameMap := slices.Equal(ma, mb)
	if !sameMap {
		diffs = append(diffs, Diff{Path: p, What: "holes", A: showMap(ma, size), B: showMap(mb, size)})
	}
	// With the same map, the data extents decide; else the contents as read
	// (a hole reads as zeros).
	ha, err := hashData(fa, ma, size, !sameMap, buf)
	if err != nil {
		return nil, err
	}
	hb, err := hashData(fb, mb, size, !sameMap, buf)
	if err != nil {
		return nil, err
	}
	if ha != hb {
		diffs = append(diffs, Diff{Path: p, What: "content", A: "sha256 " + ha[:16], B: "sha256 " + hb[:16]})
	}
	return diffs, nil
}

func openNoatime(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NOATIME|unix.O_CLOEXEC, 0)
	if err == unix.EPERM {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("treecmp: opening %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// dataMap lists the data extents of the file (SEEK_DATA/SEEK_HOLE).
func dataMap(f *os.File, size int64) ([]extent, error) {
	fd := int(f.Fd())
	var out []extent
	for off := int64(0); off < size; {
		data, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("treecmp: finding the data of %s: %w", f.Name(), err)
		}
		if data >= size {
			break
		}
		hole, err := unix.Seek(fd, data, unix.SEEK_HOLE)
		if err != nil {
			return nil, fmt.Errorf("treecmp: finding the holes of %s: %w", f.Name(), err)
		}
		hole = min(hole, size)
		out = append(out, extent{data, hole})
		off = hole
	}
	return out, nil
}

// hashData hashes the data extents of the file; with logical, the whole
// content as read, holes as zeros.
func hashData(f *os.File, m []extent, size int64, logical bool, buf []byte) (string, error) {
	h := sha256.New()
	var off int64
	for _, x := range m {
		if logical {
			if err := writeZeros(h, x.start-off, buf); err != nil {
				return "", err
			}
		}
		if _, err := io.CopyBuffer(h, io.NewSectionReader(f, x.start, x.end-x.start), buf); err != nil {
			return "", fmt.Errorf("treecmp: reading %s: %w", f.Name(), err)
		}
		off = x.end
	}
	if logical {
		if err := writeZeros(h, size-off, buf); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeZeros(h hash.Hash, n int64, buf []byte) error {
	clear(buf)
	for n > 0 {
		k := min(n, int64(len(buf)))
		h.Write(buf[:k])
		n -= k
	}
	return nil
}

package artifact

import (
	"context"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// MaxWindow bounds the memory a member's zstd stream may ask for.
const MaxWindow = 128 << 20

// WriteFS writes the tree at root as the next member, name, of w: a PAX
// tar (Pack) compressed by zstd at level (1 fastest … 22; 0: the default, 3).
func WriteFS(ctx context.Context, w *Writer, name, root string, level int, opt PackOptions) (PackStats, error) {
	mw, err := w.Member(name)
	if err != nil {
		return PackStats{}, err
	}
	if level == 0 {
		level = 3
	}
	opts := []zstd.EOption{zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level))}
	if level <= 5 {
		// zstd's own window up to level 5 (2 MiB at level 3): the library's
		// 8 MiB saves under 1% of the size and costs the decoder a fifth
		// more CPU time (its history copied out of the caches)
		opts = append(opts, zstd.WithWindowSize(2<<20))
	}
	zw, err := zstd.NewWriter(mw, opts...)
	if err != nil {
		return PackStats{}, fmt.Errorf("member %s: %w", name, err)
	}
	st, err := Pack(ctx, root, zw, opt)
	if cerr := zw.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("member %s: compressing: %w", name, cerr)
	}
	if cerr := mw.Close(); err == nil {
		err = cerr
	}
	return st, err
}

// ReadFS unpacks a member's bytes (r, from Reader.Next) into the directory
// dst (Unpack), reading the compressed stream to its end.
func ReadFS(ctx context.Context, r io.Reader, dst string, opt UnpackOptions) (PackStats, error) {
	zr, err := zstd.NewReader(r, zstd.WithDecoderMaxWindow(MaxWindow), zstd.WithDecoderMaxMemory(1<<40), zstd.WithDecoderConcurrency(2))
	if err != nil {
		return PackStats{}, err
	}
	defer zr.Close()
	st, err := Unpack(ctx, zr, dst, opt)
	if err != nil {
		return st, err
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return st, fmt.Errorf("unpacking into %s: after the archive: %w", dst, err)
	}
	return st, nil
}

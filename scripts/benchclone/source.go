package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
)

// source is a benchmark tree: how to build it and the key of its recipe,
// which names its cached image.
type source struct {
	name   string
	recipe string // everything that determines the tree's contents
	size   int64  // of the image file
	build  func(ctx context.Context, r runner, root string) error
}

func (s source) image(dir string) string {
	sum := sha256.Sum256([]byte(s.recipe))
	return filepath.Join(dir, s.name+"-"+hex.EncodeToString(sum[:6])+".img")
}

const mirror = "http://deb.debian.org/debian"

// debianExtra are the packages added to minbase (alone about 6,800 entries
// and 210 MB) to make the root of a small server: init, ssh, the kernel and
// its modules, the usual interpreters, locales and manuals: about 30,000
// entries.
const debianExtra = "systemd-sysv,openssh-server,linux-image-amd64,python3,perl,locales,man-db,iproute2,less,vim-tiny,ca-certificates"

// sources are the two trees of the benchmark.
func sources() []source {
	return []source{
		{
			name:   "debian",
			recipe: "v2 debootstrap --variant=minbase --include=" + debianExtra + " bookworm " + mirror,
			size:   4 << 30,
			build: func(ctx context.Context, r runner, root string) error {
				_, err := r.run(ctx, "debootstrap", "--variant=minbase", "--include="+debianExtra, "bookworm", root, mirror)
				return err
			},
		},
		{
			name:   "synth",
			recipe: fmt.Sprintf("v1 synthetic seed=%d files=%d dirs=20x10x10 sizes=0-16KiB sparse=4x1GiB/16x2MiB", synthSeed, synthFiles),
			size:   4 << 30,
			build:  func(ctx context.Context, _ runner, root string) error { return buildSynth(ctx, root) },
		},
	}
}

// ensure returns the cached image of s, building it first if needed.
func (s source) ensure(ctx context.Context, r runner, dir string) (string, error) {
	img := s.image(dir)
	if _, err := os.Stat(img); err == nil {
		return img, nil
	}
	fmt.Fprintf(os.Stderr, "building the %s tree into %s (once; cached)\n", s.name, img)
	tmp := img + ".tmp"
	os.Remove(tmp)
	if err := r.makeImage(ctx, tmp, s.size); err != nil {
		return "", err
	}
	fs, err := r.attach(ctx, tmp, filepath.Join(dir, "mnt", "build"), "noatime")
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	err = s.build(ctx, r, fs.mnt)
	if derr := r.detach(fs); err == nil {
		err = derr
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("building the %s tree: %w", s.name, err)
	}
	return img, os.Rename(tmp, img)
}

const (
	synthSeed  = 20260101
	synthFiles = 100_000
)

// buildSynth writes 100,000 files of 0-16 KiB in 2,000 directories three
// levels deep, and four 1 GiB sparse files with sixteen 2 MiB extents each.
func buildSynth(ctx context.Context, root string) error {
	type leaf struct {
		dir  string
		seed uint64
	}
	var leaves []leaf
	for i := range 20 {
		for j := range 10 {
			for k := range 10 {
				leaves = append(leaves, leaf{fmt.Sprintf("%s/l%02d/m%02d/n%02d", root, i, j, k), uint64(i*100 + j*10 + k)})
			}
		}
	}
	perDir := synthFiles / len(leaves)
	work := make(chan leaf)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 4 {
		wg.Go(func() {
			buf := make([]byte, 16<<10)
			for l := range work {
				if err := writeLeaf(l.dir, l.seed, perDir, buf); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		})
	}
	for _, l := range leaves {
		if ctx.Err() != nil {
			break
		}
		work <- l
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	rnd := rand.New(rand.NewPCG(synthSeed, 1))
	buf := make([]byte, 2<<20)
	for i := range 4 {
		f, err := os.Create(fmt.Sprintf("%s/sparse-%d.img", root, i))
		if err != nil {
			return err
		}
		for x := range 16 {
			fill(rnd, buf)
			if _, err := f.WriteAt(buf, int64(x)*(64<<20)+int64(i)*(1<<20)); err != nil {
				f.Close()
				return err
			}
		}
		if err := f.Truncate(1 << 30); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

func writeLeaf(dir string, seed uint64, n int, buf []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rnd := rand.New(rand.NewPCG(synthSeed, seed))
	for f := range n {
		size := rnd.IntN(16<<10 + 1)
		fill(rnd, buf[:size])
		if err := os.WriteFile(fmt.Sprintf("%s/f%04d", dir, f), buf[:size], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func fill(r *rand.Rand, b []byte) {
	for i := 0; i+8 <= len(b); i += 8 {
		v := r.Uint64()
		for k := range 8 {
			b[i+k] = byte(v >> (8 * k))
		}
	}
}

package isl

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/u-root/u-root/pkg/cpio"
)

// unpackLikeLinux walks a concatenated initramfs as the kernel's
// unpack_to_rootfs (init/initramfs.c) does and returns the names of the
// files in it: zero bytes are skipped; a plain newc cpio is taken only
// where it starts 4-byte aligned; anything else must be a compressed
// archive (zstd here), or it is "invalid magic".
func unpackLikeLinux(data []byte) ([]string, error) {
	var names []string
	for pos := 0; pos < len(data); {
		switch {
		case data[pos] == '0' && pos%4 == 0:
			n, got, err := readNewc(data[pos:])
			if err != nil {
				return names, fmt.Errorf("cpio at %d: %w", pos, err)
			}
			names = append(names, got...)
			pos += n
		case data[pos] == 0:
			pos++
		case bytes.HasPrefix(data[pos:], []byte{0x28, 0xb5, 0x2f, 0xfd}):
			n, err := zstdFrameLen(data[pos:])
			if err != nil {
				return names, fmt.Errorf("zstd at %d: %w", pos, err)
			}
			dec, _ := zstd.NewReader(nil)
			raw, err := dec.DecodeAll(data[pos:pos+n], nil)
			if err != nil {
				return names, fmt.Errorf("zstd at %d: %w", pos, err)
			}
			got, err := unpackLikeLinux(raw)
			if err != nil {
				return names, err
			}
			names = append(names, got...)
			pos += n
		default:
			return names, fmt.Errorf("invalid magic at start of compressed archive (offset %d)", pos)
		}
	}
	return names, nil
}

// readNewc reads one newc archive up to and with its trailer: how many
// bytes it takes and its names.
func readNewc(b []byte) (int, []string, error) {
	var names []string
	align := func(n int) int { return (n + 3) &^ 3 }
	for pos := 0; ; {
		if len(b) < pos+110 || string(b[pos:pos+6]) != "070701" {
			return 0, names, errors.New("no newc header")
		}
		field := func(i int) int {
			v, _ := strconv.ParseUint(string(b[pos+6+8*i:pos+14+8*i]), 16, 32)
			return int(v)
		}
		size, nameSize := field(6), field(11)
		if len(b) < pos+110+nameSize {
			return 0, names, errors.New("short name")
		}
		name := string(b[pos+110 : pos+110+nameSize-1])
		pos = align(pos+110+nameSize) + align(size)
		if name == "TRAILER!!!" {
			return pos, names, nil
		}
		names = append(names, name)
	}
}

// zstdFrameLen is the length of the zstd frame at the start of b (RFC 8878).
func zstdFrameLen(b []byte) (int, error) {
	if len(b) < 6 {
		return 0, errors.New("short frame")
	}
	fhd := b[4]
	single := fhd>>5&1 == 1
	pos := 5
	if !single {
		pos++ // window descriptor
	}
	pos += []int{0, 1, 2, 4}[fhd&3]
	fcs := []int{0, 2, 4, 8}[fhd>>6]
	if single && fhd>>6 == 0 {
		fcs = 1
	}
	pos += fcs
	for {
		if len(b) < pos+3 {
			return 0, errors.New("short block header")
		}
		h := int(b[pos]) | int(b[pos+1])<<8 | int(b[pos+2])<<16
		pos += 3
		switch size := h >> 3; h >> 1 & 3 {
		case 0, 2:
			pos += size
		case 1:
			pos++
		default:
			return 0, errors.New("reserved block type")
		}
		if h&1 == 1 {
			break
		}
	}
	if fhd>>2&1 == 1 {
		pos += 4
	}
	if pos > len(b) {
		return 0, errors.New("frame runs past the data")
	}
	return pos, nil
}

// TestModuleImageAfterISL shows why modules.img is compressed: after a
// zstd ISL whose length is not a multiple of 4, the kernel rejects a plain
// cpio ("invalid magic"), takes it only 4-aligned, and takes a compressed
// one anywhere: the files of both archives are then in the root.
func TestModuleImageAfterISL(t *testing.T) {
	mod := t.TempDir()
	files := []string{"kernel/fs/mbcache.ko", "kernel/fs/ext4/ext4.ko"}
	for _, f := range files {
		os.MkdirAll(filepath.Join(mod, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(mod, f), []byte("module "+f), 0o644)
	}
	// an ISL-like first archive whose compressed length is not 4-aligned
	var isl []byte
	for pad := 0; len(isl)%4 == 0; pad++ {
		var raw, z bytes.Buffer
		w := cpio.Newc.Writer(&raw)
		if err := cpio.WriteRecordsAndDirs(w, []cpio.Record{cpio.StaticFile("init", "#!/bin/sh\n"+strings.Repeat("#", pad), 0o755)}); err != nil {
			t.Fatal(err)
		}
		cpio.WriteTrailer(w)
		if err := Compress(&z, &raw); err != nil {
			t.Fatal(err)
		}
		isl = z.Bytes()
	}
	var plain, img bytes.Buffer
	if err := WriteModuleArchive(&plain, mod, "6.1.0-50-amd64", files); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteModuleImage(&img, mod, "6.1.0-50-amd64", files); err != nil {
		t.Fatal(err)
	}
	if img.Len()%4 != 0 {
		t.Errorf("modules.img is %d bytes, not padded to 4", img.Len())
	}
	load := "lib/modules/6.1.0-50-amd64/" + LoadListName
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

	if _, err := unpackLikeLinux(join(isl, plain.Bytes())); err == nil || !strings.Contains(err.Error(), "invalid magic") {
		t.Errorf("a plain cpio right after the zstd ISL (offset %d): %v, want invalid magic", len(isl), err)
	}
	for name, data := range map[string][]byte{
		"plain cpio, 4-aligned":                      join(isl, make([]byte, 4-len(isl)%4), plain.Bytes()),
		"modules.img right after the ISL (EFI stub)": join(isl, img.Bytes()),
		"modules.img 4-aligned (GRUB)":               join(isl, make([]byte, 4-len(isl)%4), img.Bytes()),
	} {
		names, err := unpackLikeLinux(data)
		if err != nil || !slices.Contains(names, "init") || !slices.Contains(names, load) ||
			!slices.Contains(names, "lib/modules/6.1.0-50-amd64/kernel/fs/ext4/ext4.ko") {
			t.Errorf("%s: %v, files %q", name, err, names)
		}
	}
	// the real ISL, when make isl has built it
	if real, err := os.ReadFile("../build/isl/" + ImageName); err == nil {
		names, err := unpackLikeLinux(join(real, img.Bytes()))
		if err != nil || !slices.Contains(names, "init") || !slices.Contains(names, load) {
			t.Errorf("build/isl/%s + modules.img: %v (%d files)", ImageName, err, len(names))
		}
	} else if os.Getenv("DRD_ISL_BUILD") == "1" {
		t.Errorf("make isl builds build/isl/%s before this test, but: %v", ImageName, err)
	}
}

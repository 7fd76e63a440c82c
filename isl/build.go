package isl

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// The ISL initramfs is a u-root image in busybox mode: one binary,
// /bbin/bb, with these commands; /init is u-root's init, which starts
// stageisl (/bin/uinit) on the console; gosh is the shell. Every command
// is a tool of drd's go.mod, so its version is pinned there.
var (
	UrootCommands = []string{"init", "gosh", "ls", "cat", "mount", "umount", "dmesg", "more", "shutdown"}
	StageISLPkg   = "github.com/drd-linux/drd/cmd/stageisl"
)

const urootCore = "github.com/u-root/u-root/cmds/core/"

// ImageName is the file name of the compressed initramfs, in the build
// directory and in each image's /boot.
const ImageName = "drd-isl.img"

// MkuimageArgs is the command line of u-root's builder (go tool
// mkuimage) that writes the uncompressed cpio to out.
func MkuimageArgs(out string) []string {
	args := []string{"tool", "mkuimage", "-build=bb", "-o", out,
		"-initcmd=init", "-uinitcmd=stageisl", "-defaultsh=gosh"}
	for _, c := range UrootCommands {
		args = append(args, urootCore+c)
	}
	return append(args, StageISLPkg)
}

// Build makes dir/drd-isl.img from the module whose root is moduleDir:
// mkuimage writes the cpio, which is compressed with zstd. It returns the image's path.
func Build(ctx context.Context, moduleDir, dir string, logf func(string, ...any)) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	cpio := filepath.Join(dir, "drd-isl.cpio")
	cmd := exec.CommandContext(ctx, "go", MkuimageArgs(cpio)...)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("running go %s in %s: %w\n%s", strings.Join(MkuimageArgs(cpio), " "), moduleDir, err, out)
	}
	logf("mkuimage: %s", lastLine(string(out)))
	img := filepath.Join(dir, ImageName)
	if err := compressFile(cpio, img); err != nil {
		return "", fmt.Errorf("compressing %s: %w", cpio, err)
	}
	if err := os.Remove(cpio); err != nil {
		return "", err
	}
	return img, nil
}

// Compress writes src to dst as zstd (the kernel's CONFIG_RD_ZSTD), one
// thread, so the same input gives the same bytes.
func Compress(dst io.Writer, src io.Reader) error {
	w, err := zstd.NewWriter(dst, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, bufio.NewReaderSize(src, 1<<20)); err != nil {
		return err
	}
	return w.Close()
}

func compressFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	if err := Compress(bw, in); err != nil {
		out.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/drd-linux/drd/isl"
)

// islImage builds the STAGEISL initramfs from the working tree (isl.Build,
// as make isl) once per test binary, cached in <cache>/isl-<key>; the key
// hashes the Go version, go.mod, go.sum, mkuimage's command line and the
// Go files of this module that cmd/stageisl is built from.
var islImage = func() func(ctx context.Context, logf func(string, ...any)) (string, error) {
	var once sync.Once
	var img string
	var err error
	return func(ctx context.Context, logf func(string, ...any)) (string, error) {
		once.Do(func() { img, err = buildISL(ctx, logf) })
		return img, err
	}
}()

func buildISL(ctx context.Context, logf func(string, ...any)) (string, error) {
	mod, err := run(ctx, "go", "env", "GOMOD")
	if err != nil {
		return "", err
	}
	modDir := filepath.Dir(strings.TrimSpace(mod))
	k, err := islKey(ctx, modDir)
	if err != nil {
		return "", fmt.Errorf("hashing the sources of the STAGEISL initramfs: %w", err)
	}
	dir := filepath.Join(CacheDir(), "isl-"+k)
	if _, err := cached(ctx, dir, func(tmp string) error {
		logf("building the STAGEISL initramfs in %s", tmp)
		_, err := isl.Build(ctx, modDir, tmp, logf)
		return err
	}); err != nil {
		return "", fmt.Errorf("building the STAGEISL initramfs: %w", err)
	}
	return filepath.Join(dir, isl.ImageName), nil
}

// islKey hashes what decides the content of the ISL initramfs.
func islKey(ctx context.Context, modDir string) (string, error) {
	parts := []string{strings.Join(isl.MkuimageArgs("OUT"), " ")}
	ver, err := runIn(ctx, modDir, nil, "go", "env", "GOVERSION")
	if err != nil {
		return "", err
	}
	parts = append(parts, ver)
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(modDir, f))
		if err != nil {
			return "", err
		}
		parts = append(parts, f, string(b))
	}
	// The packages of this module that stageisl is made of, and their files.
	out, err := runIn(ctx, modDir, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64"}, "go", "list", "-deps",
		"-f", `{{if .Module}}{{if .Module.Main}}{{range .GoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{end}}{{end}}`,
		isl.StageISLPkg)
	if err != nil {
		return "", err
	}
	files := strings.Fields(out)
	slices.Sort(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(modDir, f)
		parts = append(parts, rel, string(b))
	}
	return key(parts...), nil
}

// islModules writes, to out, a kernel modules cpio like the one drd isl
// install makes, for the base system's kernel: the critical modules and
// their dependencies (not those of the hardware present). The harness uses it to boot the ISL
// directly (QEMU -kernel/-initrd) before any drd isl install.
func islModules(base Base, out string) error {
	vers, err := os.ReadDir(filepath.Join(base.Tree, "lib/modules"))
	if err != nil || len(vers) != 1 {
		return fmt.Errorf("the base system should have one kernel in /lib/modules: %v %v", vers, err)
	}
	ver := vers[0].Name()
	modDir := filepath.Join(base.Tree, "lib/modules", ver)
	var files [3][]byte
	for i, name := range []string{"modules.dep", "modules.alias", "modules.builtin"} {
		if files[i], err = os.ReadFile(filepath.Join(modDir, name)); err != nil {
			return fmt.Errorf("reading the module index of the base system: %w", err)
		}
	}
	idx, err := isl.ParseModuleIndex(files[0], files[1], files[2])
	if err != nil {
		return fmt.Errorf("reading the module index of %s: %w", modDir, err)
	}
	res := idx.Resolve(isl.CriticalModules, nil)
	var b bytes.Buffer
	if err := isl.WriteModuleArchive(&b, modDir, ver, res.Files); err != nil {
		return err
	}
	return os.WriteFile(out, b.Bytes(), 0o644)
}

// concatFiles writes the files one after the other to out (an initramfs
// of several archives), each padded with zeros to a multiple of 4 bytes:
// an uncompressed cpio must start 4-byte aligned, and the kernel skips
// zeros between archives.
func concatFiles(out string, files ...string) error {
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		all = append(all, b...)
		all = append(all, make([]byte, (4-len(all)%4)%4)...)
	}
	return os.WriteFile(out, all, 0o644)
}

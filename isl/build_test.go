package isl

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/u-root/u-root/pkg/cpio"
)

// MaxImageSize is the goal of issue 7 for the compressed initramfs
// without kernel modules.
const MaxImageSize = 8 << 20

// TestBuild builds the ISL initramfs as make isl does and checks what is
// in it. It takes about a minute of two cores, so it runs when
// DRD_ISL_BUILD=1 (make isl sets it).
func TestBuild(t *testing.T) {
	if os.Getenv("DRD_ISL_BUILD") != "1" {
		t.Skip("building the ISL initramfs takes a minute: set DRD_ISL_BUILD=1 (make isl does)")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no Go toolchain in PATH: the ISL initramfs is built where Go is")
	}
	moduleDir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	fetch := exec.Command("go", "mod", "download", "github.com/u-root/u-root", "github.com/u-root/mkuimage")
	fetch.Dir = moduleDir
	if out, err := fetch.CombinedOutput(); err != nil {
		t.Skipf("cannot fetch u-root and mkuimage (no network and not in the module cache?): %v\n%s", err, out)
	}
	start := time.Now()
	img, err := Build(context.Background(), moduleDir, t.TempDir(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d bytes compressed (%.2f MiB), built in %s", ImageName, fi.Size(), float64(fi.Size())/(1<<20), time.Since(start).Round(time.Second))
	if fi.Size() >= MaxImageSize {
		t.Errorf("the initramfs is %d bytes compressed; the goal is under %d", fi.Size(), MaxImageSize)
	}
	checkArchive(t, img)
}

func checkArchive(t *testing.T, img string) {
	data, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := dec.DecodeAll(data, nil)
	if err != nil {
		t.Fatalf("%s is no zstd stream: %v", img, err)
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("%s: reading the cpio: %v", img, err)
	}
	links := map[string]string{}
	var files []string
	for _, r := range recs {
		switch r.Mode & cpio.S_IFMT {
		case cpio.S_IFLNK:
			target := make([]byte, r.FileSize)
			if _, err := r.ReadAt(target, 0); err != nil {
				t.Fatalf("reading link %s: %v", r.Name, err)
			}
			links[r.Name] = string(target)
		case cpio.S_IFREG:
			files = append(files, r.Name)
		}
	}
	// What must be there: u-root's init as /init, STAGEISL as its uinit,
	// gosh as the shell, and every command as a link to the one binary.
	want := map[string]string{"init": "bbin/init", "bin/uinit": "../bbin/stageisl", "bin/sh": "../bbin/gosh", "bin/defaultsh": "../bbin/gosh"}
	for _, c := range append(slices.Clone(UrootCommands), "stageisl") {
		want["bbin/"+c] = "bb"
	}
	for name, target := range want {
		if links[name] != target {
			t.Errorf("%s -> %q, want -> %q", name, links[name], target)
		}
	}
	// And nothing else of note: no command we did not ask for, no other program.
	for name, target := range links {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected link %s -> %s", name, target)
		}
	}
	slices.Sort(files)
	if wantFiles := []string{"bbin/bb", "etc/localtime", "etc/resolv.conf"}; !slices.Equal(files, wantFiles) {
		t.Errorf("regular files %q, want %q", files, wantFiles)
	}
}

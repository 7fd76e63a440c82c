package isl

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"
)

func TestWriteModuleArchive(t *testing.T) {
	mod := t.TempDir()
	files := []string{"kernel/fs/mbcache.ko", "kernel/fs/ext4/ext4.ko"}
	for i, f := range files {
		os.MkdirAll(filepath.Join(mod, filepath.Dir(f)), 0o755)
		if err := os.WriteFile(filepath.Join(mod, f), []byte{byte(i), 'k', 'o'}, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := WriteModuleArchive(&b, mod, "6.1.0-50-amd64", files); err != nil {
		t.Fatal(err)
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(b.Bytes())))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range recs {
		if r.Mode&cpio.S_IFMT == cpio.S_IFREG {
			data, _ := io.ReadAll(io.NewSectionReader(r, 0, int64(r.FileSize)))
			got[r.Name] = string(data)
		}
	}
	want := map[string]string{
		"lib/modules/6.1.0-50-amd64/kernel/fs/mbcache.ko":   "\x00ko",
		"lib/modules/6.1.0-50-amd64/kernel/fs/ext4/ext4.ko": "\x01ko",
		"lib/modules/6.1.0-50-amd64/" + LoadListName:        "kernel/fs/mbcache.ko\nkernel/fs/ext4/ext4.ko\n",
	}
	if len(got) != len(want) {
		t.Errorf("files %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if err := WriteModuleArchive(io.Discard, mod, "v", []string{"kernel/none.ko"}); err == nil {
		t.Error("a missing module file gave no error")
	}
}

package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestWithAppendix: the initramfs, zeros up to a multiple of 4 bytes
// (where the kernel looks for the next archive), then the appendix.
func TestWithAppendix(t *testing.T) {
	for _, initrd := range []string{"", "12345678", "123456789"} {
		p := filepath.Join(t.TempDir(), "initrd")
		if err := os.WriteFile(p, []byte(initrd), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		mem, err := withAppendix(f, []byte("070701..."))
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(mem)
		mem.Close()
		want := append([]byte(initrd), make([]byte, (4-len(initrd)%4)%4)...)
		want = append(want, "070701..."...)
		if !bytes.Equal(got, want) {
			t.Errorf("initrd %q: got %q, want %q", initrd, got, want)
		}
	}
}

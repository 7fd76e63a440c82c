package artifact

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Pack reads ahead on several goroutines; what it writes must still be
// one fixed stream: the same bytes every time, entries in the walk's
// order (sorted, parents first), every file's data under its own name.
func TestPackIsDeterministic(t *testing.T) {
	root := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	chacha := rand.NewChaCha8([32]byte{1})
	want := map[string][]byte{}
	for d := range 8 {
		dir := filepath.Join(root, fmt.Sprintf("d%02d", d))
		if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		for f := range 40 {
			// sizes across the read-ahead bounds: empty, small, and larger
			// than wholeMax (read by the writer itself)
			size := rng.IntN(64 << 10)
			switch f % 20 {
			case 0:
				size = 0
			case 1:
				if d%4 == 0 {
					size = wholeMax + rng.IntN(1<<20)
				}
			}
			data := make([]byte, size)
			chacha.Read(data)
			name := fmt.Sprintf("d%02d/f%03d", d, f)
			if f%2 == 1 {
				name = fmt.Sprintf("d%02d/sub/f%03d", d, f)
			}
			if err := os.WriteFile(filepath.Join(root, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
			want[name] = data
		}
	}
	if err := os.Link(filepath.Join(root, "d03/f002"), filepath.Join(root, "d06/link")); err != nil {
		t.Fatal(err)
	}
	pack := func(w io.Writer) {
		if _, err := Pack(context.Background(), root, w, PackOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pack(io.Discard) // reading the directories sets their access times once (relatime)
	var buf bytes.Buffer
	pack(&buf)
	first := buf.Bytes()
	for i := range 3 {
		h := sha256.New()
		if pack(h); !bytes.Equal(h.Sum(nil), sha256Of(first)) {
			t.Fatalf("pack %d differs from the first", i+2)
		}
	}
	tr := tar.NewReader(bytes.NewReader(first))
	prev := ""
	seen := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		// sorted within each directory, parents first: the walk's order
		if prev != "" && hdr.Name != "." && !walkBefore(prev, hdr.Name) {
			t.Errorf("%s after %s", hdr.Name, prev)
		}
		prev = hdr.Name
		data, _ := io.ReadAll(tr)
		if w, ok := want[hdr.Name]; ok {
			seen++
			if !bytes.Equal(data, w) {
				t.Errorf("%s: %d bytes, not its own %d", hdr.Name, len(data), len(w))
			}
		}
		if hdr.Name == "d06/link" && (hdr.Typeflag != tar.TypeLink || hdr.Linkname != "d03/f002") {
			t.Errorf("d06/link: type %q to %q, want a hard link to d03/f002", hdr.Typeflag, hdr.Linkname)
		}
	}
	if seen != len(want) {
		t.Errorf("%d files in the archive, want %d", seen, len(want))
	}
}

// walkBefore tells whether a comes before b in a walk that lists each
// directory sorted, a directory's contents right after it.
func walkBefore(a, b string) bool {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := range min(len(as), len(bs)) {
		if as[i] != bs[i] {
			return as[i] < bs[i]
		}
	}
	return len(as) < len(bs)
}

func sha256Of(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

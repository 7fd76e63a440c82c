package artifact_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"aead.dev/minisign"

	"github.com/drd-linux/drd/images/artifact"
	"github.com/drd-linux/drd/internal/treecmp"
	"github.com/drd-linux/drd/internal/treecmp/treetest"
)

// An artifact of a tree with every kind of entry, unpacked into a fresh
// file system, gives the tree back exactly, as a clone does.
func TestPackUnpackIsExact(t *testing.T) {
	treetest.NeedRoot(t, "setfacl", "setcap")
	src := treetest.Ext4(t, 256<<20)
	dst := treetest.Ext4(t, 256<<20)
	if _, err := treetest.Build(src, treetest.Options{BigFile: 9<<20 + 4321}); err != nil {
		t.Fatal(err)
	}
	// a file that is nothing but a hole, and one with a hole at its end
	if err := os.WriteFile(filepath.Join(src, "allhole"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(src, "allhole"), 5<<20); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "tailhole"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(src, "tailhole"), 3<<20); err != nil {
		t.Fatal(err)
	}
	pub, key, err := minisign.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m := artifact.Manifest{Kind: artifact.KindFull, Members: []artifact.Member{{Name: "root"}},
		FileSystems: []artifact.FileSystem{{Mount: "/", Type: "ext4", Member: "root", Size: 1, Used: 1}}}
	var buf bytes.Buffer
	w, err := artifact.NewWriter(&buf, m, &key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := artifact.WriteFS(context.Background(), w, "root", src, 3, artifact.PackOptions{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("packed %+v into %d bytes", st, buf.Len())
	if st.Bytes > 16<<20 { // 9 MiB big file, the rest small; 8 MiB of holes
		t.Errorf("packed %d data bytes: holes were written as data", st.Bytes)
	}

	r, err := artifact.NewReader(bytes.NewReader(buf.Bytes()), []minisign.PublicKey{pub})
	if err != nil {
		t.Fatal(err)
	}
	name, mr, err := r.Next()
	if err != nil || name != "root" {
		t.Fatalf("Next: %q, %v", name, err)
	}
	if _, err := artifact.ReadFS(context.Background(), mr, dst, artifact.UnpackOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Finish(); err != nil {
		t.Fatal(err)
	}
	diffs, err := treecmp.Compare(src, dst, treecmp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		t.Errorf("unpacked tree differs: %s", d)
	}
}

package artifact_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/drd-linux/drd/images/artifact"
	"github.com/drd-linux/drd/internal/treecmp"
	"github.com/drd-linux/drd/internal/treecmp/treetest"
)

// A delta of a changed copy against its base, applied over another copy
// of the base, gives the changed tree back; it holds only what changed.
func TestDeltaRoundTrip(t *testing.T) {
	treetest.NeedRoot(t, "setfacl", "setcap")
	base := treetest.Ext4(t, 256<<20)
	image := treetest.Ext4(t, 256<<20)
	target := treetest.Ext4(t, 256<<20)
	if _, err := treetest.Build(base, treetest.Options{BigFile: 3 << 20}); err != nil {
		t.Fatal(err)
	}
	for _, dst := range []string{image, target} {
		if out, err := exec.Command("cp", "-a", base+"/.", dst).CombinedOutput(); err != nil {
			t.Fatal(err, string(out))
		}
	}
	full := func(root string) int64 {
		var buf bytes.Buffer
		st, err := artifact.Pack(context.Background(), root, &buf, artifact.PackOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return st.Entries
	}
	// what a package install does: files added, changed, removed, a
	// directory gone, types changed, modes changed
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(image, "usr/share/hello"), 0o755)
	must(os.WriteFile(filepath.Join(image, "usr/share/hello/README"), []byte("new"), 0o644))
	must(os.WriteFile(filepath.Join(image, "tochange"), []byte("changed contents"), 0o600))
	must(os.WriteFile(filepath.Join(base, "tochange"), []byte("old"), 0o600))
	must(os.WriteFile(filepath.Join(target, "tochange"), []byte("old"), 0o600))
	old := time.Unix(1_600_000_000, 0)
	for _, d := range []string{base, target} {
		must(os.MkdirAll(filepath.Join(d, "gone/deeper"), 0o755))
		must(os.WriteFile(filepath.Join(d, "gone/deeper/f"), []byte("x"), 0o644))
		must(os.WriteFile(filepath.Join(d, "fileToDir"), []byte("x"), 0o644))
		must(os.MkdirAll(filepath.Join(d, "dirToLink/sub"), 0o755))
		must(os.Chtimes(filepath.Join(d, "tochange"), old, old))
	}
	must(os.MkdirAll(filepath.Join(image, "fileToDir/x"), 0o755))
	must(os.Symlink("elsewhere", filepath.Join(image, "dirToLink")))
	must(os.Chmod(filepath.Join(image, "usr"), 0o750))

	var buf bytes.Buffer
	st, err := artifact.Pack(context.Background(), image, &buf, artifact.PackOptions{Base: base, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if n := full(image); st.Entries*4 > n {
		t.Errorf("the delta has %d entries of the image's %d", st.Entries, n)
	}
	if _, err := artifact.Unpack(context.Background(), bytes.NewReader(buf.Bytes()), target, artifact.UnpackOptions{}); err == nil {
		t.Error("a delta was unpacked as a full archive")
	}
	if _, err := artifact.Unpack(context.Background(), bytes.NewReader(buf.Bytes()), target, artifact.UnpackOptions{Delta: true}); err != nil {
		t.Fatal(err)
	}
	diffs, err := treecmp.Compare(image, target, treecmp.Options{IgnoreAtime: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		t.Errorf("after the delta: %s", d)
	}
}

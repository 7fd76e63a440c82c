package artifact

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"aead.dev/minisign"
)

// FuzzUnpack: whatever the archive, Unpack writes nothing outside its
// target and fails only by error.
func FuzzUnpack(f *testing.F) {
	f.Add(makeTar(f, []entry{{name: ".", typ: tar.TypeDir}, {name: "d", typ: tar.TypeDir}, {name: "d/f", typ: tar.TypeReg, data: "abc"}, {name: "h", typ: tar.TypeLink, link: "d/f"}}), false)
	f.Add(makeTar(f, []entry{{name: "a", typ: tar.TypeSymlink, link: ".."}, {name: "a/x", typ: tar.TypeReg, data: "x"}}), false)
	f.Add(makeTar(f, []entry{{name: "f", typ: tar.TypeReg, data: "xy", pax: map[string]string{paxSparseSize: "9", paxSparseMap: "1,1,7,1"}}}), false)
	f.Add(makeTar(f, []entry{{name: "p", typ: tar.TypeFifo}, {name: "x", typ: tar.TypeReg, pax: map[string]string{paxXattr + "user.a": "1"}}}), false)
	f.Add(makeTar(f, []entry{{name: "x", typ: tar.TypeReg, pax: map[string]string{paxWhiteout: "1"}}, {name: "planted/f", typ: tar.TypeReg, data: "x"}}), true)
	f.Fuzz(func(t *testing.T, data []byte, delta bool) {
		base := t.TempDir()
		dst := filepath.Join(base, "dst")
		os.Mkdir(dst, 0o755)
		os.Symlink("../outside", filepath.Join(dst, "planted")) // as a base could hold
		os.Mkdir(filepath.Join(base, "outside"), 0o755)
		os.WriteFile(filepath.Join(base, "outside", "victim"), []byte("v"), 0o644)
		Unpack(context.Background(), bytes.NewReader(data), dst, UnpackOptions{Delta: delta})
		assertOnly(t, base, "dst", "outside", "outside/victim")
		if b, _ := os.ReadFile(filepath.Join(base, "outside", "victim")); string(b) != "v" {
			t.Errorf("outside/victim changed: %q", b)
		}
	})
}

// FuzzManifest: DecodeManifest fails only by error, and what it accepts
// encodes and decodes to the same.
func FuzzManifest(f *testing.F) {
	m := testManifest()
	b, _ := m.Encode()
	f.Add(b, false)
	m.HeaderSHA256 = string(bytes.Repeat([]byte("a"), 64))
	for i := range m.Members {
		m.Members[i].SHA256, m.Members[i].Size = m.HeaderSHA256, 3
	}
	b, _ = m.Encode()
	f.Add(b, true)
	f.Add([]byte(`{"format":1,"kind":"full","members":[{"name":"../x"}]}`), false)
	f.Fuzz(func(t *testing.T, data []byte, final bool) {
		m, err := DecodeManifest(data, final)
		if err != nil {
			return
		}
		b, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeManifest(b, final); err != nil {
			t.Errorf("accepted, encoded, refused: %v", err)
		}
	})
}

// FuzzArtifact: Verify of any bytes fails only by error; with a trusted
// key it accepts only artifacts that key signed.
func FuzzArtifact(f *testing.F) {
	pub, key, _ := minisign.GenerateKey(rand.Reader)
	f.Add(writeArtifact(f, &key, []byte("root"), []byte("boot")), true)
	f.Add(writeArtifact(f, nil, []byte("root"), []byte("boot")), false)
	f.Fuzz(func(t *testing.T, data []byte, trusted bool) {
		var trust []minisign.PublicKey
		if trusted {
			trust = []minisign.PublicKey{pub}
		}
		m, signer, err := Verify(bytes.NewReader(data), trust)
		if err != nil {
			return
		}
		if trusted && signer != KeyID(pub.ID()) {
			t.Errorf("accepted with a trusted key, signer %q", signer)
		}
		if err := m.Validate(true); err != nil {
			t.Errorf("accepted a manifest that does not validate: %v", err)
		}
	})
}

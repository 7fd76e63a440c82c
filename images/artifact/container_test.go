package artifact

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"aead.dev/minisign"
)

func testManifest() Manifest {
	return Manifest{Kind: KindFull, SourceHost: "canary",
		Members: []Member{{Name: "root"}, {Name: "boot"}},
		FileSystems: []FileSystem{
			{Mount: "/", Type: "ext4", Features: []string{"has_journal", "^metadata_csum"}, Size: 100, Used: 50, Member: "root"},
			{Mount: "/boot", Type: "ext4", Size: 10, Used: 1, Member: "boot"},
		}}
}

func writeArtifact(t testing.TB, key *minisign.PrivateKey, members ...[]byte) []byte {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testManifest(), key)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"root", "boot"} {
		mw, err := w.Member(name)
		if err != nil {
			t.Fatal(err)
		}
		mw.Write(members[i])
		mw.Close()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readAll reads an artifact's members and checks it.
func readAll(data []byte, trust []minisign.PublicKey) ([][]byte, string, error) {
	r, err := NewReader(bytes.NewReader(data), trust)
	if err != nil {
		return nil, "", err
	}
	var out [][]byte
	for {
		_, mr, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", err
		}
		b, err := io.ReadAll(mr)
		if err != nil {
			return nil, "", err
		}
		out = append(out, b)
	}
	_, err = r.Finish()
	return out, r.Signer, err
}

func TestArtifactRoundTripAndTrust(t *testing.T) {
	pub, key, _ := minisign.GenerateKey(rand.Reader)
	other, _, _ := minisign.GenerateKey(rand.Reader)
	big := make([]byte, ChunkSize+12345)
	rand.Read(big)
	small := []byte("boot files")
	signed := writeArtifact(t, &key, big, small)
	unsigned := writeArtifact(t, nil, big, small)

	got, signer, err := readAll(signed, []minisign.PublicKey{other, pub})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[0], big) || !bytes.Equal(got[1], small) {
		t.Error("members read back differ")
	}
	if signer != KeyID(pub.ID()) {
		t.Errorf("signer %q, want %q", signer, KeyID(pub.ID()))
	}
	if _, _, err := readAll(signed, []minisign.PublicKey{other}); !errors.Is(err, ErrTrust) {
		t.Errorf("signed by another key: %v, want ErrTrust", err)
	}
	if _, _, err := readAll(unsigned, []minisign.PublicKey{pub}); !errors.Is(err, ErrTrust) {
		t.Errorf("unsigned with a trusted key: %v, want ErrTrust", err)
	}
	if _, _, err := readAll(unsigned, nil); err != nil {
		t.Errorf("unsigned, no trusted key: %v", err)
	}
	// Members skipped by the caller are still checked by Finish.
	if _, _, err := Verify(bytes.NewReader(signed), []minisign.PublicKey{pub}); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

// Every flipped byte is either refused or changes nothing that is read
// (tar padding); every cut is refused.
func TestArtifactTamperingRefused(t *testing.T) {
	pub, key, _ := minisign.GenerateKey(rand.Reader)
	root, boot := bytes.Repeat([]byte("root data "), 300), []byte("boot")
	for _, trust := range [][]minisign.PublicKey{{pub}, nil} {
		data := writeArtifact(t, &key, root, boot)
		accepted := 0
		for i := 0; i < len(data); i += 1 + len(trust)*2 {
			bad := bytes.Clone(data)
			bad[i] ^= 0x20
			got, _, err := readAll(bad, trust)
			if err == nil {
				accepted++
				if !bytes.Equal(got[0], root) || !bytes.Equal(got[1], boot) {
					t.Fatalf("byte %d flipped: accepted with other contents", i)
				}
			}
		}
		t.Logf("trusted keys %d: %d of %d flips fell into padding", len(trust), accepted, len(data))
		for n := 0; n < len(data); n += 97 {
			if _, _, err := readAll(data[:n], trust); err == nil {
				t.Fatalf("cut at %d of %d: accepted", n, len(data))
			}
		}
	}
	// The manifest of one artifact with the header of another: same
	// members, another source host.
	a := writeArtifact(t, nil, root, boot)
	var buf bytes.Buffer
	m := testManifest()
	m.SourceHost = "other"
	w, _ := NewWriter(&buf, m, nil)
	for i, name := range []string{"root", "boot"} {
		mw, _ := w.Member(name)
		mw.Write([][]byte{root, boot}[i])
		mw.Close()
	}
	w.Close()
	b := buf.Bytes()
	at := func(d []byte) int { return bytes.Index(d, []byte(manifestName+"\x00")) }
	spliced := append(a[:at(a):at(a)], b[at(b):]...)
	if _, _, err := readAll(spliced, nil); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a manifest from another artifact: %v, want ErrCorrupt", err)
	}
	if _, _, err := readAll(append(b[:at(b):at(b)], b[at(b):]...), nil); err != nil {
		t.Errorf("the splice itself is wrong: %v", err)
	}
}

func TestLoadTrust(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, TrustedDir)
	os.MkdirAll(dir, 0o755)
	pub, key, _ := minisign.GenerateKey(rand.Reader)
	text, _ := pub.MarshalText()
	os.WriteFile(filepath.Join(dir, "a.pub"), text, 0o644)
	os.WriteFile(filepath.Join(dir, "README"), []byte("not a key"), 0o644)
	keys, err := LoadTrust(root, nil)
	if err != nil || len(keys) != 1 || keys[0].ID() != pub.ID() {
		t.Fatalf("LoadTrust: %d keys, %v", len(keys), err)
	}
	os.WriteFile(filepath.Join(dir, "b.pub"), []byte("garbage"), 0o644)
	if _, err := LoadTrust(root, nil); err == nil {
		t.Error("a broken key in trusted.d was skipped")
	}
	sec, _ := key.MarshalText()
	os.WriteFile(filepath.Join(root, "plain.key"), sec, 0o600)
	if _, err := LoadSecretKey(filepath.Join(root, "plain.key")); err != nil {
		t.Errorf("unencrypted key: %v", err)
	}
	// an encrypted key: the same bytes with the scrypt KDF named
	lines := strings.Split(strings.TrimSpace(string(sec)), "\n")
	raw, _ := base64.StdEncoding.DecodeString(lines[len(lines)-1])
	copy(raw[2:4], "Sc")
	enc := []byte(lines[0] + "\n" + base64.StdEncoding.EncodeToString(raw) + "\n")
	os.WriteFile(filepath.Join(root, "enc.key"), enc, 0o600)
	if _, err := LoadSecretKey(filepath.Join(root, "enc.key")); err == nil || !strings.Contains(err.Error(), "minisign -G -W") {
		t.Errorf("encrypted key: %v", err)
	}
}

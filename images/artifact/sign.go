package artifact

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"aead.dev/minisign"
)

// LoadSecretKey reads a minisign secret key that is not encrypted
// (`minisign -G -W`).
func LoadSecretKey(file string) (minisign.PrivateKey, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return minisign.PrivateKey{}, fmt.Errorf("reading the signing key: %w", err)
	}
	var k minisign.PrivateKey
	if minisign.IsEncrypted(data) {
		return k, fmt.Errorf("signing key %s is encrypted: drd signs without asking for a password; make a key with `minisign -G -W`", file)
	}
	if err := k.UnmarshalText(data); err != nil {
		return k, fmt.Errorf("signing key %s: %w", file, err)
	}
	return k, nil
}

// LoadPublicKey reads a minisign public key (minisign.pub).
func LoadPublicKey(file string) (minisign.PublicKey, error) {
	k, err := minisign.PublicKeyFromFile(file)
	if err != nil {
		return k, fmt.Errorf("trusted key %s: %w", file, err)
	}
	return k, nil
}

// TrustedDir is where an image keeps the public keys whose artifacts it
// imports, relative to its root.
const TrustedDir = "etc/drd/trusted.d"

// LoadTrust reads the trusted keys: the files given and every *.pub in
// root's TrustedDir, in name order. A key that cannot be read is an error,
// never skipped: a broken trust store must not let unsigned artifacts in.
func LoadTrust(root string, files []string) ([]minisign.PublicKey, error) {
	found, err := filepath.Glob(filepath.Join(root, TrustedDir, "*.pub"))
	if err != nil {
		return nil, err
	}
	slices.Sort(found)
	var keys []minisign.PublicKey
	for _, f := range append(slices.Clone(files), found...) {
		k, err := LoadPublicKey(f)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

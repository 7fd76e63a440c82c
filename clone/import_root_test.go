package clone

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"aead.dev/minisign"
	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/images/artifact"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/internal/testsys"
	"github.com/drd-linux/drd/pkgdb"
)

const baseStatus = `Package: base-files
Status: install ok installed
Architecture: amd64
Version: 12.4

Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2
`

// hostSystem is a small system of one build (os-release, dpkg status)
// with an identity of its own.
func hostSystem(t *testing.T, host string) *testsys.System {
	t.Helper()
	s := testsys.ForTest(t, testsys.Options{})
	files := map[string]string{
		"etc/os-release":                   "ID=debian\nVERSION_ID=\"12\"\n",
		"var/lib/dpkg/status":              baseStatus,
		"etc/hostname":                     host + "\n",
		"etc/hosts":                        "127.0.1.1 " + host + "\n",
		"etc/machine-id":                   host + "-machine-id\n",
		"var/lib/dbus/machine-id":          host + "-machine-id\n",
		"etc/ssh/ssh_host_ed25519_key":     host + " secret key\n",
		"etc/ssh/ssh_host_ed25519_key.pub": host + " public key\n",
		"etc/ssh/sshd_config":              "PermitRootLogin no\n",
		"etc/network/interfaces":           "auto eth0 # " + host + "\n",
		"etc/motd":                         "the build's motd\n",
	}
	for name, data := range files {
		p := filepath.Join(s.Root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// canaryArtifact clones host A, installs a package into the clone (as
// dpkg --root would: its files and its status stanza) and exports the
// clone, signed with key (nil: unsigned).
func canaryArtifact(t *testing.T, key *minisign.PrivateKey, delta bool) (*testsys.System, []byte) {
	t.Helper()
	ctx := context.Background()
	a := hostSystem(t, "hosta")
	if err := Run(ctx, Options{Root: a.Root, Target: filepath.Join(t.TempDir(), "a-clone.img")}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	dir, err := bootenv.Mount(ctx, a.Root, testsys.CloneName(t, a.Root), report.Func(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "usr/bin"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "usr/bin/hello"), []byte("#!/bin/sh\necho hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// a file of the root file system hidden under its /boot mount point
	alone := t.TempDir()
	if err := unix.Mount(dir, alone, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	err = os.WriteFile(filepath.Join(alone, "boot/hidden-under-mount"), []byte("x"), 0o644)
	if uerr := unix.Unmount(alone, 0); uerr != nil {
		t.Fatal(uerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	status := baseStatus + "\nPackage: hello\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.10-3\n"
	if err := os.WriteFile(filepath.Join(dir, "var/lib/dpkg/status"), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := bootenv.Umount(ctx, a.Root, "", report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	m, err := Export(ctx, ExportOptions{Root: a.Root, Output: &buf, Key: key, Delta: delta}, report.Func(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	if m.Origin.Packages != pkgdb.Digest(pkgdb.Read(a.Root)) || m.Exported.Packages == m.Origin.Packages || m.Exported.Count != 3 {
		t.Errorf("base identities: origin %+v, exported %+v", m.Origin, m.Exported)
	}
	if fs := m.FileSystems[0]; fs.Mount != "/" || !slices.Contains(fs.Features, "extent") {
		t.Errorf("layout of /: %+v, want ext4's features", fs)
	}
	if m.SourceHost != "hosta" {
		t.Errorf("source host %q", m.SourceHost)
	}
	return a, buf.Bytes()
}

func writeKeyFiles(t *testing.T, pub minisign.PublicKey, dir string) string {
	t.Helper()
	text, err := pub.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "canary.pub")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(p, append(text, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExportImport: a package installed in a clone on host A, exported
// signed and imported on host B, is in B's new image, which keeps B's
// identity and is complete and bootable like a clone; tampered, cut,
// wrongly signed and unsigned artifacts are refused with the target as it
// was.
func TestExportImport(t *testing.T) {
	ctx := context.Background()
	pub, key, err := minisign.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _, _ := minisign.GenerateKey(rand.Reader)
	_, data := canaryArtifact(t, &key, false)
	b := hostSystem(t, "hostb")
	trust := []minisign.PublicKey{pub}
	work := t.TempDir()
	file := filepath.Join(work, "canary.drd")
	os.WriteFile(file, data, 0o600)

	// Refusals: the target (a new image file) is never made.
	flipped := flipInMember(t, data)
	for _, c := range []struct {
		name  string
		data  []byte
		trust []minisign.PublicKey
		want  error
	}{
		{"flipped byte", flipped, trust, artifact.ErrCorrupt},
		{"truncated", data[:len(data)*2/3], trust, artifact.ErrCorrupt},
		{"wrong key", data, []minisign.PublicKey{otherPub}, artifact.ErrTrust},
	} {
		p := filepath.Join(work, "bad.drd")
		os.WriteFile(p, c.data, 0o600)
		f, _ := os.Open(p)
		target := filepath.Join(work, "refused.img")
		err := Import(ctx, Options{Root: b.Root, Target: target}, ImportSource{Name: p, R: f, Trust: c.trust}, report.Func(t.Logf))
		f.Close()
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if _, err := os.Stat(target); !os.IsNotExist(err) {
			t.Errorf("%s: the target image file was made", c.name)
		}
	}

	// A refused stream into a disk: its first and last MiB stay as they were.
	disk := filepath.Join(work, "disk.img")
	makeImage(t, disk, 2<<30)
	dev := attach(t, disk)
	before := edges(t, dev)
	unsignedArtifact := func() []byte {
		var buf bytes.Buffer
		w, _ := artifact.NewWriter(&buf, artifact.Manifest{Kind: artifact.KindFull, Members: []artifact.Member{{Name: "root"}},
			FileSystems: []artifact.FileSystem{{Mount: "/", Type: "ext4", Member: "root"}}}, nil)
		mw, _ := w.Member("root")
		mw.Close()
		w.Close()
		return buf.Bytes()
	}()
	writeKeyFiles(t, pub, filepath.Join(b.Root, artifact.TrustedDir))
	configured, err := artifact.LoadTrust(b.Root, nil)
	if err != nil || len(configured) != 1 {
		t.Fatalf("trusted.d: %d keys, %v", len(configured), err)
	}
	err = Import(ctx, Options{Root: b.Root, Target: dev}, ImportSource{Name: "-", R: bytes.NewReader(unsignedArtifact), Trust: configured}, report.Func(t.Logf))
	if !errors.Is(err, artifact.ErrTrust) {
		t.Errorf("unsigned with a configured key: %v, want ErrTrust", err)
	}
	if after := edges(t, dev); after != before {
		t.Error("a refused import changed the disk's first or last MiB")
	}

	// A corrupt stream is found out only while it is written: the new
	// image is left broken, never complete.
	broken := filepath.Join(work, "broken.img")
	err = Import(ctx, Options{Root: b.Root, Target: broken}, ImportSource{Name: "-", R: bytes.NewReader(flipped), Trust: configured}, report.Func(t.Logf))
	if !errors.Is(err, artifact.ErrCorrupt) && (err == nil || !strings.Contains(err.Error(), "importing /")) {
		t.Errorf("corrupt stream: %v", err)
	}
	if rec, err := bootenv.ReadRecord(openClone(t, broken).root); err != nil || rec.State != bootenv.Broken {
		t.Errorf("after a corrupt stream: record %+v, %v; want broken", rec, err)
	}

	// The good import, as a stream.
	target := filepath.Join(work, "b-import.img")
	if err := Import(ctx, Options{Root: b.Root, Target: target}, ImportSource{Name: "-", R: bytes.NewReader(data), Trust: configured}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	c := openClone(t, target)
	wantImported(t, c.root, map[string]string{
		"usr/bin/hello":                    "#!/bin/sh\necho hello\n",
		"etc/hostname":                     "hostb\n",
		"etc/hosts":                        "127.0.1.1 hostb\n",
		"etc/machine-id":                   "hostb-machine-id\n",
		"var/lib/dbus/machine-id":          "hostb-machine-id\n",
		"etc/ssh/ssh_host_ed25519_key":     "hostb secret key\n",
		"etc/ssh/ssh_host_ed25519_key.pub": "hostb public key\n",
		"etc/network/interfaces":           "auto eth0 # hostb\n",
		"etc/motd":                         "the build's motd\n",
	})
	if _, err := os.Stat(filepath.Join(c.root, "boot/hidden-under-mount")); err != nil {
		t.Errorf("the file hidden under /boot was not exported: %v", err)
	}
	// B's fstab, pointed at the new image's devices; B's /home kept.
	bFstab, _ := os.ReadFile(filepath.Join(b.Root, "etc/fstab"))
	got, _ := os.ReadFile(filepath.Join(c.root, "etc/fstab"))
	bHome, gotHome := fstabSpec(t, bFstab, "/home"), fstabSpec(t, got, "/home")
	if bHome == "" || bHome != gotHome {
		t.Errorf("/home in the imported fstab: %q, B's %q", gotHome, bHome)
	}
	if r := fstabSpec(t, got, "/"); r == fstabSpec(t, bFstab, "/") || !strings.HasPrefix(r, "UUID=") {
		t.Errorf("/ in the imported fstab: %q: not the new image's", r)
	}
	rec, err := bootenv.ReadRecord(c.root)
	if err != nil {
		t.Fatal(err)
	}
	last := rec.History[len(rec.History)-1]
	if rec.State != bootenv.Complete || last.Action != "import" || !strings.Contains(last.Detail, "hosta") || !strings.Contains(last.Detail, artifact.KeyID(pub.ID())) {
		t.Errorf("record: state %s, last event %+v", rec.State, last)
	}
}

// edges are the first and last MiB of a disk, hashed.
// wantImported checks the imported image at root: each file's content
// (path relative to root) and the canary package hello at 2.10-3.
func wantImported(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(root, name))
		if err != nil || string(got) != want {
			t.Errorf("/%s: %q, %v; want %q", name, got, err, want)
		}
	}
	if ps := pkgdb.Read(root); ps["hello:amd64"] != "2.10-3" {
		t.Errorf("the imported image's packages: %v", ps)
	}
}

func edges(t *testing.T, dev string) [2][32]byte {
	t.Helper()
	f, err := os.Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, _ := f.Seek(0, 2)
	buf := make([]byte, 1<<20)
	var out [2][32]byte
	for i, off := range []int64{0, size - 1<<20} {
		if _, err := f.ReadAt(buf, off); err != nil {
			t.Fatal(err)
		}
		out[i] = sha256.Sum256(buf)
	}
	return out
}

func fstabSpec(t *testing.T, data []byte, mount string) string {
	t.Helper()
	es, err := bootenv.ParseFstab(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.File == mount {
			return e.Spec
		}
	}
	return ""
}

// TestExportImportDelta: a delta of the canary's clone holds what the
// package changed; imported on a host of the same base it gives the
// package and keeps the host's identity; on a host whose base differs by
// one package it is refused, naming the package, before the target is
// made.
func TestExportImportDelta(t *testing.T) {
	ctx := context.Background()
	_, data := canaryArtifact(t, nil, true)
	b := hostSystem(t, "hostb")
	work := t.TempDir()
	if r, err := artifact.NewReader(bytes.NewReader(data), nil); err != nil || r.Header.Kind != artifact.KindDelta {
		t.Fatalf("not a delta: %v", err)
	}
	target := filepath.Join(work, "b-delta.img")
	if err := Import(ctx, Options{Root: b.Root, Target: target}, ImportSource{Name: "-", R: bytes.NewReader(data)}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	c := openClone(t, target)
	wantImported(t, c.root, map[string]string{
		"usr/bin/hello":  "#!/bin/sh\necho hello\n",
		"etc/hostname":   "hostb\n",
		"etc/machine-id": "hostb-machine-id\n",
		"etc/motd":       "the build's motd\n",
	})

	// B with one package more: refused, naming it; no target made.
	status := baseStatus + "\nPackage: curl\nStatus: install ok installed\nArchitecture: amd64\nVersion: 7.88.1\n"
	if err := os.WriteFile(filepath.Join(b.Root, "var/lib/dpkg/status"), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	refused := filepath.Join(work, "refused.img")
	err := Import(ctx, Options{Root: b.Root, Target: refused}, ImportSource{Name: "-", R: bytes.NewReader(data)}, report.Func(t.Logf))
	if err == nil || !strings.Contains(err.Error(), "installed curl 7.88.1") {
		t.Errorf("another base: %v, want a refusal naming curl", err)
	}
	if _, err := os.Stat(refused); !os.IsNotExist(err) {
		t.Error("a refused delta made the target")
	}
}

// flipInMember flips one byte in the middle of the data of the root
// member's first chunk (past the chunk's 512-byte tar header of the
// container): a change the member's digest must catch. A flip at a fixed
// offset of the whole artifact could land in the container's tar padding
// or in the end-of-archive blocks, which carry nothing and are not read.
func flipInMember(t *testing.T, data []byte) []byte {
	t.Helper()
	i := bytes.Index(data, []byte("drd-artifact/fs/root/00000000"))
	if i < 0 || i%512 != 0 {
		t.Fatalf("no chunk 0 of the root member at a tar header in the artifact (at %d)", i)
	}
	size, err := strconv.ParseInt(strings.Trim(string(data[i+124:i+136]), " \x00"), 8, 64)
	if err != nil || size == 0 {
		t.Fatalf("the root member's first chunk: size %q: %v", data[i+124:i+136], err)
	}
	out := bytes.Clone(data)
	out[i+512+int(size/2)] ^= 1
	return out
}

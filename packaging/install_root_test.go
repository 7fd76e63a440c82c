package packaging

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drd-linux/drd/bootenv"
)

// The fresh Debian 12 the package is installed into: debootstrap's
// minbase with man-db (man -w must find the pages), built once (about
// 90 s) and cached as a tar file under /var/tmp/drd-cache, as runcmd's
// root tests cache theirs; unpacked per run (a few seconds).
const (
	rootSuite = "bookworm"
	rootTar   = "/var/tmp/drd-cache/bookworm-minbase-man-db.tar"
)

// EnvDeb names a built package (make deb) for TestInstallRemovePurge to
// install instead of building one.
const EnvDeb = "DRD_DEB"

// TestInstallRemovePurge installs the package with dpkg -i into a fresh
// Debian 12 root (in a chroot), checks what an administrator would
// (drd --version, man -w, the completions, the unit enabled), then that
// dpkg -r leaves only the conffiles (and systemd's memory of the unit's
// enablement, as every Debian package with a unit does) and dpkg -P
// nothing at all.
func TestInstallRemovePurge(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: chroot, dpkg in a Debian root")
	}
	for _, p := range []string{"debootstrap", "dpkg-deb", "tar", "chroot"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("needs %s (scripts/install-deps)", p)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	version := "v9.8.7-6-gabcdef0"
	deb := os.Getenv(EnvDeb)
	if deb == "" {
		deb = buildTestDeb(ctx, t, version)
	} else {
		out, err := exec.Command("dpkg-deb", "--field", deb, "Version").Output()
		if err != nil {
			t.Fatalf("%s=%s: %v", EnvDeb, deb, err)
		}
		version = "" // whatever make deb stamped: checked against the package's version below
		t.Logf("testing %s, version %s", deb, strings.TrimSpace(string(out)))
	}

	// lintian is make deb's check (over a minute here, most of this
	// test's budget): not repeated.

	root := t.TempDir()
	tarFile, err := debianTar(ctx, t)
	if err != nil {
		t.Fatal(err)
	}
	mustRun(ctx, t, "tar", "-C", root, "--numeric-owner", "--xattrs", "-xf", tarFile)
	in := func(args ...string) string {
		t.Helper()
		return mustRun(ctx, t, "chroot", append([]string{root}, args...)...)
	}
	before := listTree(t, root)
	// An image cloned by a drd without the package: drd clone's unit and
	// copy of drd, which would hide the package's unit. postinst removes
	// them (the readlink below fails otherwise).
	exe := filepath.Join(t.TempDir(), "drd")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := bootenv.InstallBootCheck(root, exe); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "tmp/drd.deb"), data, 0o644); err != nil {
		t.Fatal(err)
	}

	// Installed: what the administrator checks.
	in("dpkg", "-i", "/tmp/drd.deb")
	if err := os.Remove(filepath.Join(root, "tmp/drd.deb")); err != nil {
		t.Fatal(err)
	}
	out := in("/usr/sbin/drd", "--version")
	switch {
	case version != "" && out != "drd "+version+"\n":
		t.Errorf("drd --version printed %q, want %q", out, "drd "+version+"\n")
	case version == "" && (!strings.HasPrefix(out, "drd ") || strings.Contains(out, "(devel)")):
		t.Errorf("drd --version printed %q: not stamped by make deb", out)
	}
	for page, want := range map[string]string{"drd": "/usr/share/man/man8/drd.8.gz", "drd-clone": "/usr/share/man/man8/drd-clone.8.gz"} {
		if got := strings.TrimSpace(in("man", "-w", page)); got != want {
			t.Errorf("man -w %s: %q, want %q", page, got, want)
		}
	}
	for sh, p := range Completions {
		if fi, err := os.Stat(filepath.Join(root, p)); err != nil || fi.Size() == 0 {
			t.Errorf("the %s completion at %s: %v", sh, p, err)
		}
	}
	wants := "/etc/systemd/system/multi-user.target.wants/drd-boot-check.service"
	if got := strings.TrimSpace(in("readlink", "-f", wants)); got != "/usr/lib/systemd/system/drd-boot-check.service" {
		t.Errorf("the unit is not enabled: %s resolves to %q", wants, got)
	}
	// The trial-rescue unit: enabled for both targets, and drd clone's
	// copy (written above by InstallBootCheck) gone.
	var rescueWants []string
	for _, target := range []string{"emergency.target", "rescue.target"} {
		w := "/etc/systemd/system/" + target + ".wants/" + bootenv.RescueUnitName
		rescueWants = append(rescueWants, w)
		if got := strings.TrimSpace(in("readlink", "-f", w)); got != bootenv.PackagedRescueUnitPath {
			t.Errorf("the rescue unit is not enabled: %s resolves to %q", w, got)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "etc/systemd/system", bootenv.RescueUnitName)); err == nil {
		t.Errorf("drd clone's rescue unit is still there after the package came")
	}
	if _, err := os.Stat(filepath.Join(root, bootenv.DrdPath)); err == nil {
		t.Errorf("drd clone's copy %s is still there after the package came", bootenv.DrdPath)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/lib/drd/drd-isl.img")); err != nil {
		t.Errorf("STAGEISL's initramfs: %v", err)
	}
	if got := in("/usr/sbin/drd", "isl", "install", "-x", "-?"); !strings.Contains(got, "/usr/lib/drd/drd-isl.img") {
		t.Errorf("drd isl install does not default to the packaged initramfs:\n%s", got)
	}

	// Removed: the conffiles stay, and what deb-systemd-helper keeps to
	// remember the unit was enabled (postrm: mask on remove, purge), and
	// drd's own state in /var/opt/drd (the drd.log the commands above
	// wrote; purge removes it, as no image.json is there).
	in("dpkg", "-r", Name)
	var left []string
	for _, p := range diff(before, listTree(t, root)) {
		if !strings.HasPrefix(p, "/var/opt/drd/") {
			left = append(left, p)
		}
	}
	want := append(slices.Clone(Conffiles), "/etc/drd/", "/etc/drd/checks.d/",
		wants, // dangling until purge, as for any package with a unit
		"/etc/systemd/system/drd-boot-check.service", // deb-systemd-helper's mask (-> /dev/null)
		// deb-systemd-helper's state, for purge
		"/var/lib/systemd/deb-systemd-helper-enabled/drd-boot-check.service.dsh-also",
		"/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/drd-boot-check.service",
		"/var/lib/systemd/deb-systemd-helper-masked/",
		"/var/lib/systemd/deb-systemd-helper-masked/drd-boot-check.service",
		// the same for the trial-rescue unit, with its two targets
		rescueWants[0], rescueWants[1],
		"/etc/systemd/system/emergency.target.wants/", "/etc/systemd/system/rescue.target.wants/",
		"/var/lib/systemd/deb-systemd-helper-enabled/emergency.target.wants/", "/var/lib/systemd/deb-systemd-helper-enabled/rescue.target.wants/",
		"/etc/systemd/system/drd-trial-rescue.service",
		"/var/lib/systemd/deb-systemd-helper-enabled/drd-trial-rescue.service.dsh-also",
		"/var/lib/systemd/deb-systemd-helper-enabled/emergency.target.wants/drd-trial-rescue.service",
		"/var/lib/systemd/deb-systemd-helper-enabled/rescue.target.wants/drd-trial-rescue.service",
		"/var/lib/systemd/deb-systemd-helper-masked/drd-trial-rescue.service",
	)
	if !sameSet(t, "after dpkg -r", left, want) {
		t.Logf("dpkg -r left: %q", left)
	}

	// Purged: nothing of the package.
	in("dpkg", "-P", Name)
	if left := diff(before, listTree(t, root)); len(left) > 0 {
		t.Errorf("dpkg -P left:\n%s", strings.Join(left, "\n"))
	}

	// Purged where drd clone made this image drd's: its record stays (the
	// clones and STAGEISL name the image by it), and purge says so.
	if err := os.WriteFile(filepath.Join(root, "tmp/drd.deb"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	in("dpkg", "-i", "/tmp/drd.deb")
	record := filepath.Join(root, "var/opt/drd/image.json")
	if err := os.MkdirAll(filepath.Dir(record), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(record, []byte(`{"name": "sysimage_000"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "chroot", root, "dpkg", "-P", Name)
	out2, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg -P with an image record: %v\n%s", err, out2)
	}
	if !strings.Contains(string(out2), "drd: keeping /var/opt/drd") {
		t.Errorf("dpkg -P with an image record did not say it keeps /var/opt/drd:\n%s", out2)
	}
	if _, err := os.Stat(record); err != nil {
		t.Errorf("dpkg -P removed the image's record: %v", err)
	}
}

// buildTestDeb builds drd stamped with version and packages it. The ISL
// initramfs in it is a stand-in (building the real one takes minutes;
// make isl's tests check it): this test checks where files go, not what
// STAGEISL does.
func buildTestDeb(ctx context.Context, t *testing.T, version string) string {
	dir := t.TempDir()
	drd := filepath.Join(dir, "drd")
	t.Setenv("CGO_ENABLED", "0") // as make drd: static
	mustRun(ctx, t, "go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+version, "-o", drd, "github.com/drd-linux/drd/cmd/drd")
	isl := filepath.Join(dir, "drd-isl.img")
	if err := os.WriteFile(isl, []byte("a stand-in for STAGEISL's initramfs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deb, err := Build(ctx, Options{Drd: drd, ISL: isl, Source: "..", Version: version,
		Date: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC), OutDir: dir, Logf: t.Logf, Compression: "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	return deb
}

// debianTar returns the cached tar of a fresh Debian 12 with man-db,
// making it with debootstrap when it is missing.
func debianTar(ctx context.Context, t *testing.T) (string, error) {
	if _, err := os.Stat(rootTar); err == nil {
		return rootTar, nil
	}
	if err := os.MkdirAll(filepath.Dir(rootTar), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(rootTar), ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	t.Logf("building a Debian %s root with man-db in %s (debootstrap, about 90 s; cached as %s)", rootSuite, tmp, rootTar)
	root := filepath.Join(tmp, "root")
	for _, s := range [][]string{
		{"debootstrap", "--variant=minbase", "--include=man-db", rootSuite, root, "http://deb.debian.org/debian"},
		{"tar", "-C", root, "--numeric-owner", "--xattrs", "-cf", filepath.Join(tmp, "out.tar"), "."},
	} {
		if out, err := exec.CommandContext(ctx, s[0], s[1:]...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("%s: %v\n%s", strings.Join(s, " "), err, out)
		}
	}
	return rootTar, os.Rename(filepath.Join(tmp, "out.tar"), rootTar)
}

// listTree lists every path under root ("/etc/drd/" for a directory),
// except the records that any dpkg run or man-db's trigger changes.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, root)
		switch rel {
		case "/var/lib/dpkg", "/var/log", "/var/cache/man", "/var/cache/debconf", "/tmp", "/proc", "/sys", "/dev":
			return filepath.SkipDir
		}
		if d.IsDir() {
			rel += "/"
		}
		paths = append(paths, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(paths)
	return paths
}

// diff is what after has and before has not.
func diff(before, after []string) []string {
	var out []string
	for _, p := range after {
		if _, found := slices.BinarySearch(before, p); !found {
			out = append(out, p)
		}
	}
	return out
}

// sameSet reports the differences of got and want as errors.
func sameSet(t *testing.T, what string, got, want []string) bool {
	t.Helper()
	ok := true
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("%s: %s is left", what, g)
			ok = false
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s: %s is gone, want it kept", what, w)
			ok = false
		}
	}
	return ok
}

func mustRun(ctx context.Context, t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	t0 := time.Now()
	out, err := cmd.Output()
	t.Logf("%s %s: %.1fs", name, strings.Join(args, " "), time.Since(t0).Seconds())
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr)
	}
	return string(out)
}

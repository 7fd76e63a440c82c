package bootenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The unit runs drd from its fixed place in the image, never from where
// the clone's drd was run, and does not skip in silence when it is gone.
func TestUnitText(t *testing.T) {
	unit := UnitText(DrdPath)
	for _, want := range []string{
		"\nExecStart=/usr/lib/drd/drd boot-check\n",
		"\nStandardError=journal+console\n",
		"\nWantedBy=multi-user.target\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("the unit lacks %q:\n%s", want, unit)
		}
	}
	if strings.Contains(unit, "Condition") {
		t.Errorf("the unit has a condition: a missing drd would skip the boot check in silence:\n%s", unit)
	}
}

// The unit's check before drd runs: exit 1 with a message saying what
// is missing and what follows when drd is not there; exit 0 when it is.
func TestUnitFailsLoudlyWithoutDrd(t *testing.T) {
	dir := t.TempDir()
	drd := filepath.Join(dir, "usr/lib/drd/drd")
	script := execStartPre(t, UnitText(drd))

	cmd := exec.Command("/bin/sh", "-c", script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		t.Fatalf("the check passed with no %s", drd)
	}
	want := "drd-boot-check: " + drd + " is missing: the boot check cannot run, a trial boot will not be confirmed"
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("the check said %q, want %q", stderr.String(), want)
	}

	if err := os.MkdirAll(filepath.Dir(drd), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(drd, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("/bin/sh", "-c", script).CombinedOutput(); err != nil {
		t.Errorf("the check failed with %s there: %v %s", drd, err, out)
	}
}

// execStartPre is the shell script of the unit's ExecStartPre=/bin/sh -c '...'.
func execStartPre(t *testing.T, unit string) string {
	t.Helper()
	for _, l := range strings.Split(unit, "\n") {
		if s, ok := strings.CutPrefix(l, "ExecStartPre=/bin/sh -c '"); ok && strings.HasSuffix(s, "'") {
			return strings.TrimSuffix(s, "'")
		}
	}
	t.Fatalf("the unit has no ExecStartPre=/bin/sh -c '...':\n%s", unit)
	return ""
}

func TestInstallDrd(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "drd-built-here")
	if err := os.WriteFile(exe, []byte("drd v1"), 0o700); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for range 2 { // again: unchanged
		if err := InstallDrd(root, exe); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(root, DrdPath)
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("%s: %v, %v; want mode 0755", p, fi, err)
	}
	if b, _ := os.ReadFile(p); string(b) != "drd v1" {
		t.Errorf("%s holds %q, want the executable's bytes", p, b)
	}
	// A newer drd replaces it.
	os.WriteFile(exe, []byte("drd v2"), 0o700)
	if err := InstallDrd(root, exe); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "drd v2" {
		t.Errorf("%s holds %q after an update, want drd v2", p, b)
	}
	// The drd at DrdPath itself, running: nothing to copy.
	if err := InstallDrd(root, p); err != nil {
		t.Errorf("installing %s over itself: %v", p, err)
	}
	if err := InstallDrd(root, ""); err == nil || !strings.Contains(err.Error(), "executable is unknown") {
		t.Errorf("no executable: %v", err)
	}
}

// The package's unit runs the package's drd, and says so when it is gone.
func TestPackagedUnitText(t *testing.T) {
	unit := PackagedUnitText()
	for _, want := range []string{
		"Installed by the drd package",
		"\nExecStart=/usr/sbin/drd boot-check -x managed_only=true\n",
		"\nWantedBy=multi-user.target\n",
		"reinstall the drd package",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("the packaged unit lacks %q:\n%s", want, unit)
		}
	}
	if strings.Contains(unit, "ConditionPathExists=") {
		t.Errorf("the packaged unit has a path condition: a record beneath a separate /var is on no path once /var is mounted:\n%s", unit)
	}
	if strings.Contains(unit, cloneMark) {
		t.Errorf("the packaged unit carries drd clone's mark (the package's scripts would remove it):\n%s", unit)
	}
}

// drd clone gives an image without the package its own unit and copy of
// drd, and writes nothing into an image with the package.
func TestInstallBootCheck(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "drd")
	if err := os.WriteFile(exe, []byte("drd"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := t.TempDir()
	if err := InstallBootCheck(plain, exe); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{DrdPath, unitDir + "/" + UnitName, unitDir + "/multi-user.target.wants/" + UnitName} {
		if _, err := os.Stat(filepath.Join(plain, p)); err != nil {
			t.Errorf("an image without the package: %v", err)
		}
	}

	packaged := t.TempDir()
	unit := filepath.Join(packaged, PackagedUnitPath)
	if err := os.MkdirAll(filepath.Dir(unit), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(unit, []byte(PackagedUnitText()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := InstallBootCheck(packaged, exe); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"usr/lib/drd", "etc/systemd"} {
		if _, err := os.Stat(filepath.Join(packaged, p)); err == nil {
			t.Errorf("an image with the package got %s from drd clone", p)
		}
	}
}

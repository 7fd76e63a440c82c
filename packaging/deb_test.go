package packaging

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
)

func TestDebVersion(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.0":                  "1.2.0-1",
		"1.2.0":                   "1.2.0-1",
		"v1.2.0-3-gabc1234":       "1.2.0+3.gabc1234-1",
		"v1.2.0-3-gabc1234-dirty": "1.2.0+3.gabc1234+dirty-1",
		"abc1234":                 "0~gabc1234-1",
		"abc1234-dirty":           "0~gabc1234+dirty-1",
		"v2.0.0-rc1":              "",
		"feature-x":               "",
		"":                        "",
	} {
		got, err := DebVersion(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("DebVersion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// prerm warns, without refusing, when an image is activated or on trial:
// removing drd removes the boot check that would confirm it.
func TestPrermWarnsOfATrial(t *testing.T) {
	for _, tt := range []struct {
		name, status string
		warn         bool
	}{
		{"trial set", `{"boot": {"next": "sysimage_000", "trial": "sysimage_001", "tries": 2}}`, true},
		{"booted on trial", `{"booted": {"name": "sysimage_001", "state": "trial"}}`, true},
		{"activated", `{"images": [{"name": "sysimage_001", "state": "activated"}]}`, true},
		{"nothing pending", `{"booted": {"name": "sysimage_000", "state": "booted"}, "boot": {"next": "sysimage_000", "tries": 0}}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bin := t.TempDir()
			fake := "#!/bin/sh\ncat <<'JSON'\n" + tt.status + "\nJSON\n"
			if err := os.WriteFile(filepath.Join(bin, "drd"), []byte(fake), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("/bin/sh", "debian/prerm", "remove")
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("prerm remove: %v (it must never refuse)\n%s", err, stderr.String())
			}
			if got := strings.Contains(stderr.String(), "WARNING: a system image is activated or on trial"); got != tt.warn {
				t.Errorf("warned %v, want %v: %q", got, tt.warn, stderr.String())
			}
		})
	}
}

// postinst recognises the unit drd clone writes by its first line: the
// two must not drift apart.
func TestPostinstKnowsCloneUnit(t *testing.T) {
	mark, _, _ := strings.Cut(bootenv.UnitText(bootenv.DrdPath), "\n")
	script, err := os.ReadFile("debian/postinst")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), "'^"+mark+"$'") {
		t.Errorf("postinst does not look for drd clone's unit by its first line %q", mark)
	}
	if strings.Contains(bootenv.PackagedUnitText(), mark) {
		t.Errorf("the package's unit has drd clone's mark: postinst would remove it")
	}
	rescueMark, _, _ := strings.Cut(bootenv.RescueUnitText(), "\n")
	if !strings.Contains(string(script), "'^"+rescueMark+"$'") {
		t.Errorf("postinst does not look for drd clone's rescue unit by its first line %q", rescueMark)
	}
	if strings.Contains(bootenv.PackagedRescueUnitText(), rescueMark) {
		t.Errorf("the package's rescue unit has drd clone's mark: postinst would remove it")
	}
}

package clone

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/internal/golden"
)

var fixupRenames = []rename{
	{bootenv.DevID{UUID: "11111111-1111-1111-1111-111111111111", Path: "/dev/sda3"},
		bootenv.DevID{UUID: "c1111111-1111-4111-8111-111111111111", Path: "/dev/sdb3", Label: "drd001-root", PartUUID: "d0000000-0000-4000-8000-000000000003"}},
	{bootenv.DevID{UUID: "22222222-2222-2222-2222-222222222222", Label: "boot", Path: "/dev/sda2"},
		bootenv.DevID{UUID: "c2222222-2222-4222-8222-222222222222", Label: "drd001-boot", Path: "/dev/sdb2"}},
	{bootenv.DevID{UUID: "33333333-3333-3333-3333-333333333333", PartUUID: "aaaaaaaa-0000-4000-8000-000000000003", Path: "/dev/sda4"},
		bootenv.DevID{UUID: "c3333333-3333-4333-8333-333333333333", PartUUID: "d0000000-0000-4000-8000-000000000004", Path: "/dev/sdb4"}},
	{bootenv.DevID{UUID: "ABCD-1234", Path: "/dev/sda1"},
		bootenv.DevID{UUID: "DD01-0001", Path: "/dev/sdb1"}},
	{bootenv.DevID{UUID: "55555555-5555-5555-5555-555555555555", Path: "/dev/sda5"},
		bootenv.DevID{UUID: "c5555555-5555-4555-8555-555555555555", Path: "/dev/sdb5"}},
	{bootenv.DevID{UUID: "66666666-6666-6666-6666-666666666666", PartLabel: "tmp", Path: "/dev/sda6"},
		bootenv.DevID{UUID: "c6666666-6666-4666-8666-666666666666", PartLabel: "drd-sysimage_001-var_tmp", Path: "/dev/sdb6"}},
}

func TestRewriteDevicesGolden(t *testing.T) {
	for _, tt := range []struct {
		file  string
		field int
		lines int
	}{
		{"notations.fstab", 0, 6},
		{"notations.crypttab", 1, 1},
	} {
		t.Run(tt.file, func(t *testing.T) { checkRewriteGolden(t, tt.file, tt.field, tt.lines, fixupRenames) })
	}
}

// checkRewriteGolden rewrites the device column field of testdata/fixup/file
// with renames and compares the result with file.golden (which -update
// rewrites); lines is how many lines must change.
func checkRewriteGolden(t *testing.T, file string, field, lines int, renames []rename) {
	t.Helper()
	in, err := os.ReadFile(filepath.Join("testdata/fixup", file))
	if err != nil {
		t.Fatal(err)
	}
	got, n, err := rewriteDevices(in, field, renames)
	if err != nil {
		t.Fatal(err)
	}
	if n != lines {
		t.Errorf("%s: rewrote %d lines, want %d", file, n, lines)
	}
	path := filepath.Join("testdata/fixup", file+".golden")
	golden.Check(t, path, got)
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkGoldenRenames(t, path, string(in), string(want), field, lines, renames)
}

// checkGoldenRenames checks a golden file on its own, without
// rewriteDevices: line by line it is the input, except that a line whose
// device field names an old device names its new one instead, in the same
// notation, and nothing else of the line changed.
func checkGoldenRenames(t *testing.T, golden, in, want string, field, lines int, renames []rename) {
	t.Helper()
	inLines, wantLines := strings.Split(in, "\n"), strings.Split(want, "\n")
	if len(inLines) != len(wantLines) {
		t.Fatalf("%s has %d lines, its input %d", golden, len(wantLines), len(inLines))
	}
	changed := 0
	for i, line := range inLines {
		f := strings.Fields(line)
		if len(f) <= field || strings.HasPrefix(f[0], "#") {
			if wantLines[i] != line {
				t.Errorf("%s line %d: %q, want the input's %q", golden, i+1, wantLines[i], line)
			}
			continue
		}
		spec := bootenv.ParseDevSpec(f[field])
		var to *bootenv.DevID
		for _, r := range renames {
			if spec.Matches(r.old) {
				to = &r.new
				break
			}
		}
		g := strings.Fields(wantLines[i])
		if to == nil {
			if wantLines[i] != line {
				t.Errorf("%s line %d: %q, want the input's %q (no renamed device)", golden, i+1, wantLines[i], line)
			}
			continue
		}
		changed++
		if len(g) <= field {
			t.Errorf("%s line %d: %q has no device field", golden, i+1, wantLines[i])
			continue
		}
		gs := bootenv.ParseDevSpec(g[field])
		if gs.Kind != spec.Kind || gs.ByDir != spec.ByDir || !gs.Matches(*to) || spec.Matches(*to) {
			t.Errorf("%s line %d: %s, want the new device %+v written as %s is", golden, i+1, g[field], *to, f[field])
		}
		if strings.Replace(line, f[field], g[field], 1) != wantLines[i] {
			t.Errorf("%s line %d: %q changed more than the device of %q", golden, i+1, wantLines[i], line)
		}
	}
	if changed != lines {
		t.Errorf("%s: %d lines name a renamed device, want %d", golden, changed, lines)
	}
}

func TestRewriteDevicesMissingNotation(t *testing.T) {
	r := []rename{{bootenv.DevID{Label: "root"}, bootenv.DevID{UUID: "x"}}}
	_, _, err := rewriteDevices([]byte("LABEL=root / ext4 defaults 0 1\n"), 0, r)
	if err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("want an error naming line 1, got %v", err)
	}
}

func TestRewriteDevicesKeepsUnrelated(t *testing.T) {
	in := "# only comments\n\n/dev/sdz1 /data ext4 defaults 0 2\nno-newline-at-end"
	got, n, err := rewriteDevices([]byte(in), 0, fixupRenames)
	if err != nil || n != 0 || string(got) != in {
		t.Errorf("got %q, %d, %v; want the input unchanged", got, n, err)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/clone/imagesync"
	"github.com/drd-linux/drd/runcmd"
)

// ansibleFixtures are the JSON documents of drd that the Ansible
// collection's tests replay (scripts/ansible/...).
const ansibleFixtures = "../../scripts/ansible/ansible_collections/drd/drd/tests/unit/fixtures"

// decodeStrict decodes path into v, failing on any field v does not have.
func decodeStrict(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Errorf("%s is not what drd prints (update the fixture with drd's JSON): %v", path, err)
	}
}

// TestAnsibleStatusFixtures keeps the collection's fixtures of drd status
// --json true to drd: each decodes into bootenv.Status field for field,
// and names only states drd has (and retired, of drd commit).
func TestAnsibleStatusFixtures(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(ansibleFixtures, "status", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no status fixtures under %s (%v)", ansibleFixtures, err)
	}
	states := []bootenv.State{bootenv.Cloning, bootenv.Complete, bootenv.Modifying, bootenv.Activated,
		bootenv.Trial, bootenv.Booted, bootenv.Good, bootenv.Broken, bootenv.Bad, bootenv.Retired}
	for _, p := range paths {
		var st bootenv.Status
		decodeStrict(t, p, &st)
		for _, img := range st.Images {
			if !slices.Contains(states, img.State) {
				t.Errorf("%s: image %s has state %q, which drd has not", p, img.Name, img.State)
			}
		}
		if st.Booted != nil && !slices.ContainsFunc(st.Images, func(i *bootenv.Image) bool { return i.ID == st.Booted.ID && i.Booted }) {
			t.Errorf("%s: the booted image %s is not among the images, marked booted", p, st.Booted.Name)
		}
	}
}

// TestAnsibleRuncmdFixtures does the same for drd runcmd -x report=json.
func TestAnsibleRuncmdFixtures(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(ansibleFixtures, "runcmd", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no runcmd fixtures under %s (%v)", ansibleFixtures, err)
	}
	for _, p := range paths {
		var rep runcmd.Report
		decodeStrict(t, p, &rep)
	}
}

// TestAnsibleSyncAndVerifyFixtures: the collection's drd_sync and
// drd_verify modules were written against the contracts before
// the commands existed; their fixtures decode into what drd sync --json
// and drd verify --json print, field for field.
func TestAnsibleSyncAndVerifyFixtures(t *testing.T) {
	for dir, fresh := range map[string]func() any{
		"sync":   func() any { return new(imagesync.Result) },
		"verify": func() any { return new(verifyJSON) },
	} {
		paths, err := filepath.Glob(filepath.Join(ansibleFixtures, dir, "*.json"))
		if err != nil || len(paths) == 0 {
			t.Fatalf("no %s fixtures under %s (%v)", dir, ansibleFixtures, err)
		}
		for _, p := range paths {
			decodeStrict(t, p, fresh())
		}
	}
}

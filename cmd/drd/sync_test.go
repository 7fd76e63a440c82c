package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/clone/imagesync"
)

func TestSyncExitCodesAndJSON(t *testing.T) {
	root := t.TempDir()
	f := &fake{}
	code, out, _ := drd(t, f, root, "sync", "-x", "exclude=/srv/a", "-x", "exclude=/srv/b", "sysimage_002")
	if code != 0 || len(f.synced) != 1 || f.synced[0].Image != "sysimage_002" || !slices.Equal(f.synced[0].Exclude, []string{"/srv/a", "/srv/b"}) || f.synced[0].Preview {
		t.Fatalf("exit %d, synced %+v", code, f.synced)
	}
	if !strings.Contains(out, "Copied") || !strings.Contains(out, "Conflicts") {
		t.Errorf("no table: %q", out)
	}

	f = &fake{result: &imagesync.Result{Image: "sysimage_001", Copied: []string{"/etc/motd"},
		Conflicts: []imagesync.Conflict{{Path: "/etc/x", Reason: "both"}}, Notes: []string{"n"}}}
	code, out, stderr := drd(t, f, root, "sync", "-p", "--json")
	if code != 2 {
		t.Errorf("a conflict: exit %d, want 2", code)
	}
	if !f.synced[0].Preview {
		t.Error("-p did not preview")
	}
	if !strings.Contains(stderr, "conflict: /etc/x: both") {
		t.Errorf("conflict not warned: %s", stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	var keys []string
	for k := range doc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"conflicts", "copied", "counts", "deleted", "excluded", "image", "merged", "packages"}; !slices.Equal(keys, want) {
		t.Errorf("JSON keys %v, want %v", keys, want)
	}
	if c := doc["conflicts"].([]any)[0].(map[string]any); c["path"] != "/etc/x" || c["reason"] != "both" {
		t.Errorf("conflict %v", c)
	}
}

func TestActivateSyncsFirst(t *testing.T) {
	root := t.TempDir()
	f := &fake{}
	if code, _, _ := drd(t, f, root, "activate", "-x", "sync=true"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if len(f.synced) != 1 {
		t.Fatalf("sync ran %d times", len(f.synced))
	}
	f = &fake{fail: errEngine}
	if code, _, stderr := drd(t, f, root, "activate", "-x", "sync=true", "sysimage_001"); code != 1 || !strings.Contains(stderr, "nothing was switched") {
		t.Errorf("a failed sync: exit %d\n%s", code, stderr)
	}
	f = &fake{}
	drd(t, f, root, "activate", "sysimage_001")
	if len(f.synced) != 0 {
		t.Error("activate synced without -x sync=true")
	}
}

func TestActivateSyncAtShutdown(t *testing.T) {
	root := t.TempDir()
	f := &fake{}
	if code, _, _ := drd(t, f, root, "activate", "-x", "sync=shutdown", "sysimage_001"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if len(f.synced) != 1 {
		t.Errorf("no sync before the switch: %d", len(f.synced))
	}
	unit, err := os.ReadFile(filepath.Join(root, shutdownUnitDir, shutdownUnit))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DefaultDependencies=no", "After=local-fs.target", "Before=basic.target final.target", "Conflicts=final.target", "sync-at-shutdown sysimage_001\n"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %q:\n%s", want, unit)
		}
	}
	if want := [][]string{{"daemon-reload"}, {"restart", shutdownUnit}}; !reflect.DeepEqual(f.systemctl, want) {
		t.Errorf("systemctl %v, want %v", f.systemctl, want)
	}
	// A preview arms nothing.
	f = &fake{}
	drd(t, f, t.TempDir(), "activate", "-p", "-x", "sync=shutdown", "sysimage_001")
	if len(f.systemctl) != 0 {
		t.Errorf("a preview started the unit: %v", f.systemctl)
	}
	// A lasting switch by kexec: systemctl kexec stops the unit in the
	// same shutdown transaction as a reboot; armed before the kexec.
	f = &fake{}
	if code, _, stderr := drd(t, f, t.TempDir(), "activate", "-x", "sync=shutdown", "-x", "reboot=kexec", "sysimage_001"); code != 0 ||
		len(f.synced) != 1 || len(f.systemctl) != 2 || len(f.activated) != 1 || f.activated[0].Reboot != bootenv.SwitchKexec {
		t.Errorf("sync=shutdown with reboot=kexec: exit %d, systemctl %v, synced %d, activated %+v\n%s", code, f.systemctl, len(f.synced), f.activated, stderr)
	}
	// A kexec trial and a soft-reboot: refused before anything.
	for _, args := range [][]string{{"-x", "reboot=kexec", "-x", "trial=true"}, {"-x", "reboot=auto", "-x", "trial=true"}, {"-x", "reboot=soft"}} {
		f = &fake{}
		code, _, stderr := drd(t, f, t.TempDir(), append(append([]string{"activate", "-x", "sync=shutdown"}, args...), "sysimage_001")...)
		if code != 1 || !strings.Contains(stderr, "-x sync=shutdown with") || len(f.systemctl) != 0 || len(f.synced) != 0 || len(f.activated) != 0 {
			t.Errorf("sync=shutdown %v: exit %d, systemctl %v, synced %d\n%s", args, code, f.systemctl, len(f.synced), stderr)
		}
	}
	// A trial by the firmware is fine.
	f = &fake{}
	if code, _, stderr := drd(t, f, t.TempDir(), "activate", "-x", "sync=shutdown", "-x", "reboot=true", "-x", "trial=true", "sysimage_001"); code != 0 || len(f.systemctl) != 2 {
		t.Errorf("sync=shutdown with a firmware trial: exit %d, systemctl %v\n%s", code, f.systemctl, stderr)
	}
}

func TestSyncAtShutdownCallsTheSwitchOff(t *testing.T) {
	root := t.TempDir()
	st := &bootenv.Status{Activated: "sysimage_001", Images: []*bootenv.Image{{Record: bootenv.Record{Name: "sysimage_001"}}}}
	f := &fake{status: st, syncFail: errEngine}
	code, _, stderr := drd(t, f, root, "sync-at-shutdown", "sysimage_001")
	if code != 1 || !strings.Contains(stderr, "the switch was called off") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
	if len(f.activated) != 1 || !f.activated[0].Deactivate {
		t.Errorf("the switch was not called off: %+v", f.activated)
	}
	if f.unloaded != 1 {
		t.Errorf("a kexec kernel loaded for the switch was not unloaded (%d calls): systemd would kexec into the clone", f.unloaded)
	}
	// The unload fails: the boot target is still switched back, and the
	// error says that the machine may still kexec.
	f = &fake{status: st, syncFail: errEngine, unloadFail: errors.New("EBUSY")}
	code, _, stderr = drd(t, f, root, "sync-at-shutdown", "sysimage_001")
	if code != 1 || !strings.Contains(stderr, "calling the switch off failed too") || !strings.Contains(stderr, "may still kexec into sysimage_001") ||
		len(f.activated) != 1 || !f.activated[0].Deactivate {
		t.Errorf("a failed unload: exit %d, activated %+v\n%s", code, f.activated, stderr)
	}
	// Synced: nothing called off; the image's init was checked.
	f = &fake{status: st}
	if code, _, _ := drd(t, f, root, "sync-at-shutdown", "sysimage_001"); code != 0 || len(f.activated) != 0 || len(f.synced) != 1 || f.unloaded != 0 ||
		strings.Join(f.checked, " ") != "sysimage_001" {
		t.Errorf("exit %d, activated %+v, synced %d, unloaded %d, init checked in %q", code, f.activated, len(f.synced), f.unloaded, f.checked)
	}
	// Synced, but the image has no init to boot any more: called off.
	f = &fake{status: st, initFail: &bootenv.InitError{Image: "sysimage_001", Init: "/sbin/init", Problem: "/sbin/init is missing"}}
	code, _, stderr = drd(t, f, root, "sync-at-shutdown", "sysimage_001")
	if code != 1 || !strings.Contains(stderr, "/sbin/init is missing") || !strings.Contains(stderr, "the switch was called off") ||
		len(f.activated) != 1 || !f.activated[0].Deactivate || f.unloaded != 1 {
		t.Errorf("no init after the sync: exit %d, activated %+v, unloaded %d\n%s", code, f.activated, f.unloaded, stderr)
	}
	// No longer the activated image: no sync.
	f = &fake{status: &bootenv.Status{Activated: "sysimage_000"}}
	if code, _, _ := drd(t, f, root, "sync-at-shutdown", "sysimage_001"); code != 0 || len(f.synced) != 0 {
		t.Errorf("exit %d, synced %d", code, len(f.synced))
	}
}

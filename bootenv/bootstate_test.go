package bootenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/drd-linux/drd/bootenv/grub"
	"github.com/drd-linux/drd/internal/golden"
)

func TestEnvEncodeGolden(t *testing.T) {
	for _, tt := range []struct {
		name string
		st   BootState
	}{
		{"grubenv/next.env", BootState{Seq: 1, Next: "sysimage_000"}},
		{"grubenv/trial.env", BootState{Seq: 7, Next: "sysimage_000", Trial: "sysimage_001", Tries: 2, Watchdog: 300}},
		{"grubenv/trial-nowatchdog.env", BootState{Seq: 8, Next: "sysimage_000", Trial: "sysimage_001", Tries: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := EncodeState(tt.st)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != grub.EnvSize {
				t.Fatalf("block of %d bytes, want %d", len(b), grub.EnvSize)
			}
			golden.Check(t, filepath.Join("testdata", tt.name), b)
			back, err := DecodeState(b)
			if err != nil {
				t.Fatal(err)
			}
			if back != tt.st {
				t.Errorf("round trip: %+v, want %+v", back, tt.st)
			}
		})
	}
}

func TestBootStateRefuses(t *testing.T) {
	for _, st := range []BootState{
		{Seq: 1},
		{Seq: 1, Next: "sysimage_0"},
		{Seq: 1, Next: "sysimage_000", Trial: "other"},
		{Seq: 1, Next: "sysimage_000", Tries: MaxTries + 1},
		{Seq: -1, Next: "sysimage_000"},
		{Seq: 1 << 31, Next: "sysimage_000"},
		{Seq: 1, Next: "sysimage_000", Watchdog: 300},
		{Seq: 1, Next: "sysimage_000", Trial: "sysimage_001", Tries: 1, Watchdog: 59},
		{Seq: 1, Next: "sysimage_000", Trial: "sysimage_001", Tries: 1, Watchdog: 65536},
		{Seq: 1, Next: "sysimage_000", Trial: "sysimage_001", Tries: 1, Watchdog: -1},
	} {
		if _, err := EncodeState(st); err == nil {
			t.Errorf("%+v encoded, want an error", st)
		}
	}
}

// TestBlockWithoutWatchdog: a trial's block written by a drd from before
// drd_watchdog means the default deadline; a deadline that is no number
// is refused.
func TestBlockWithoutWatchdog(t *testing.T) {
	old := grub.Env{{Name: "drd_seq", Value: "7"}, {Name: "drd_next", Value: "sysimage_000"},
		{Name: "drd_trial", Value: "sysimage_001"}, {Name: "drd_tries", Value: "2"}}
	s, err := StateFromEnv(old)
	if err != nil || s.Watchdog != DefaultWatchdogSeconds {
		t.Errorf("StateFromEnv(a block without drd_watchdog) = %+v, %v; want the watchdog at %d s", s, err, DefaultWatchdogSeconds)
	}
	for _, v := range []string{"", "300 init=/bin/sh", "x"} {
		bad := append(slices.Clone(old), grub.Var{Name: "drd_watchdog", Value: v})
		if s, err := StateFromEnv(bad); err == nil {
			t.Errorf("drd_watchdog=%q read as %+v, want an error", v, s)
		}
	}
}

func TestFreshest(t *testing.T) {
	a := BootState{Seq: 3, Next: "sysimage_000"}
	b := BootState{Seq: 4, Next: "sysimage_001"}
	c := BootState{Seq: 4, Next: "sysimage_000"}
	if _, _, ok := Freshest(nil); ok {
		t.Error("Freshest of nothing found something")
	}
	if got, i, _ := Freshest([]BootState{a, b, c}); got != b || i != 1 {
		t.Errorf("Freshest = %+v at %d, want the first of the highest", got, i)
	}
}

// TestBlockFile writes a block, overwrites it in place, and checks the
// file stays the same inode (GRUB's save_env needs its blocks to stay).
func TestBlockFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "drdenv")
	if err := WriteBlock(p, BootState{Seq: 1, Next: "sysimage_000"}); err != nil {
		t.Fatal(err)
	}
	st1, _ := os.Stat(p)
	want := BootState{Seq: 2, Next: "sysimage_000", Trial: "sysimage_001", Tries: 3}
	if err := WriteBlock(p, want); err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(p)
	if !os.SameFile(st1, st2) || st2.Size() != grub.EnvSize {
		t.Errorf("the block was replaced (or resized: %d), want it rewritten in place", st2.Size())
	}
	got, err := ReadBlock(p)
	if err != nil || got != want {
		t.Fatalf("ReadBlock = %+v, %v; want %+v", got, err, want)
	}
}

// TestGrubEditenv checks that grub-editenv reads drd's block, and that
// drd reads what grub-editenv writes into it (as GRUB's save_env does).
func TestGrubEditenv(t *testing.T) {
	if _, err := exec.LookPath("grub-editenv"); err != nil {
		t.Skip("grub-editenv not installed (grub2-common)")
	}
	p := filepath.Join(t.TempDir(), "drdenv")
	if err := WriteBlock(p, BootState{Seq: 5, Next: "sysimage_000", Trial: "sysimage_001", Tries: 2, Watchdog: 900}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("grub-editenv", p, "list").CombinedOutput()
	if err != nil {
		t.Fatalf("grub-editenv list: %v\n%s", err, out)
	}
	want := "drd_seq=5\ndrd_next=sysimage_000\ndrd_trial=sysimage_001\ndrd_tries=2\ndrd_watchdog=900\n"
	if string(out) != want {
		t.Errorf("grub-editenv list:\n%s\nwant:\n%s", out, want)
	}
	if out, err := exec.Command("grub-editenv", p, "set", "drd_tries=1").CombinedOutput(); err != nil {
		t.Fatalf("grub-editenv set: %v\n%s", err, out)
	}
	got, err := ReadBlock(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Tries != 1 || got.Trial != "sysimage_001" || got.Seq != 5 || got.Watchdog != 900 {
		t.Errorf("after grub-editenv set drd_tries=1: %+v", got)
	}
	// And a block grub-editenv makes from nothing decodes too.
	q := filepath.Join(t.TempDir(), "fresh")
	if out, err := exec.Command("grub-editenv", q, "create").CombinedOutput(); err != nil {
		t.Fatalf("grub-editenv create: %v\n%s", err, out)
	}
	if out, err := exec.Command("grub-editenv", q, "set", "drd_seq=9", "drd_next=sysimage_001", "drd_trial=", "drd_tries=0").CombinedOutput(); err != nil {
		t.Fatalf("grub-editenv set: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(q)
	fresh, err := DecodeState(b)
	if err != nil || fresh != (BootState{Seq: 9, Next: "sysimage_001"}) {
		t.Errorf("block made by grub-editenv: %+v, %v", fresh, err)
	}
	// drd's encoding is grub-editenv's without its warning comment line.
	mine, _ := EncodeState(fresh)
	const warning = "# WARNING: Do not edit this file by tools other than grub-editenv!!!\n"
	theirs := bytes.Replace(b, []byte(warning), nil, 1)
	theirs = append(theirs, bytes.Repeat([]byte{'#'}, grub.EnvSize-len(theirs))...)
	if !bytes.Equal(mine, theirs) {
		t.Errorf("drd's block differs from grub-editenv's:\n%q\n%q", mine, b)
	}
}

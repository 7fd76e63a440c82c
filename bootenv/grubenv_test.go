package bootenv

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to make it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", p, got)
	}
}

func TestEnvEncodeGolden(t *testing.T) {
	for _, tt := range []struct {
		name string
		st   BootState
	}{
		{"grubenv/next.env", BootState{Seq: 1, Next: "sysimage_000"}},
		{"grubenv/trial.env", BootState{Seq: 7, Next: "sysimage_000", Trial: "sysimage_001", Tries: 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := EncodeState(tt.st)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != EnvSize {
				t.Fatalf("block of %d bytes, want %d", len(b), EnvSize)
			}
			golden(t, tt.name, b)
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

func TestEnvDecode(t *testing.T) {
	pad := func(s string) []byte {
		return append([]byte(s), bytes.Repeat([]byte{'#'}, EnvSize-len(s))...)
	}
	for _, tt := range []struct {
		name string
		in   []byte
		want Env
		err  string
	}{
		{"empty", pad(envHeader), nil, ""},
		{"vars", pad(envHeader + "a=1\nb=x=y\n"), Env{{"a", "1"}, {"b", "x=y"}}, ""},
		{"escapes", pad(envHeader + "a=back\\\\slash\\\nnext\n"), Env{{"a", "back\\slash\nnext"}}, ""},
		{"comment lines", pad(envHeader + "# note\na=1\n"), Env{{"a", "1"}}, ""},
		{"no equals skipped", pad(envHeader + "junk\na=1\n"), Env{{"a", "1"}}, ""},
		{"last one wins", pad(envHeader + "a=1\na=2\n"), Env{{"a", "2"}}, ""},
		{"short", []byte(envHeader), nil, "is 1024 bytes"},
		{"no header", pad("# GRUB Env\n"), nil, "no header"},
		{"runaway line", append([]byte(envHeader), bytes.Repeat([]byte{'a'}, EnvSize-len(envHeader))...), nil, "runs to the end"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeEnv(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func TestEnvEncodeRefuses(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  Env
		err  string
	}{
		{"too big", Env{{"a", strings.Repeat("x", 1000)}}, "do not fit"},
		{"bad name", Env{{"a=b", "1"}}, "name"},
		{"comment name", Env{{"#a", "1"}}, "name"},
		{"twice", Env{{"a", "1"}, {"a", "2"}}, "twice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.env.Encode(); err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one containing %q", err, tt.err)
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
	} {
		if _, err := EncodeState(st); err == nil {
			t.Errorf("%+v encoded, want an error", st)
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
	if !os.SameFile(st1, st2) || st2.Size() != EnvSize {
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
	if err := WriteBlock(p, BootState{Seq: 5, Next: "sysimage_000", Trial: "sysimage_001", Tries: 2}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("grub-editenv", p, "list").CombinedOutput()
	if err != nil {
		t.Fatalf("grub-editenv list: %v\n%s", err, out)
	}
	want := "drd_seq=5\ndrd_next=sysimage_000\ndrd_trial=sysimage_001\ndrd_tries=2\n"
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
	if got.Tries != 1 || got.Trial != "sysimage_001" || got.Seq != 5 {
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
	theirs = append(theirs, bytes.Repeat([]byte{'#'}, EnvSize-len(theirs))...)
	if !bytes.Equal(mine, theirs) {
		t.Errorf("drd's block differs from grub-editenv's:\n%q\n%q", mine, b)
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
)

// goodClone is a machine booted into sysimage_001, good after its trial
// boot, beside the original sysimage_000.
func goodClone() *bootenv.Status {
	o, c := orig000(), clone001()
	o.Booted, c.Booted = false, true
	o.State, c.State = bootenv.Booted, bootenv.Good
	return &bootenv.Status{Booted: c, Activated: c.Name, Images: []*bootenv.Image{c, o}, Boot: &bootenv.BootState{Seq: 6, Next: c.Name}}
}

// TestCommitCommand: drd commit of a good booted clone prints the table
// of what changed and logs an event; refused (a trial pending, an image
// not booted and good), it is exit 1 with the reason and what to do, and
// -p exits 1 where the real command would be refused.
func TestCommitCommand(t *testing.T) {
	pending := goodClone()
	pending.Booted.State = bootenv.Booted
	pending.Images[1].State = bootenv.Activated
	pending.Boot = &bootenv.BootState{Seq: 5, Next: "sysimage_001", Trial: "sysimage_000", Tries: 2}
	notGood := goodClone()
	notGood.Booted.State = bootenv.Booted
	tests := []struct {
		name    string
		args    []string
		st      *bootenv.Status
		code    int
		commits int
		stdout  []string // lines of the table, in words
		stderr  string
	}{
		{"good", []string{"commit"}, goodClone(), 0, 1, []string{"sysimage_001 /dev/vdb good good (the base)", "sysimage_000 /dev/vda booted retired"}, "END Commit System Image succeeded"},
		{"named", []string{"commit", "sysimage_001"}, goodClone(), 0, 1, []string{"sysimage_000 /dev/vda booted retired"}, "succeeded"},
		{"preview", []string{"commit", "-p"}, goodClone(), 0, 1, []string{"STATE AFTER COMMIT", "sysimage_000 /dev/vda booted retired"}, "succeeded"},
		{"trial pending", []string{"commit"}, pending, 1, 0, nil, "sysimage_000 is on trial (2 boots left, then sysimage_001)"},
		{"trial pending, preview", []string{"commit", "-p"}, pending, 1, 0, nil, "sysimage_000 is on trial"},
		{"not good", []string{"commit"}, notGood, 1, 0, nil, "the booted image sysimage_001 is booted, not good"},
		{"not good, preview", []string{"commit", "-p"}, notGood, 1, 0, nil, "is booted, not good"},
		{"not booted", []string{"commit", "sysimage_000"}, goodClone(), 1, 0, nil, "ERROR: committing sysimage_000: not committable: sysimage_000 is not the booted image"},
		{"too many", []string{"commit", "a", "b"}, goodClone(), 1, 0, nil, "too many arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			f := &fake{status: tt.st}
			code, stdout, stderr := drd(t, f, root, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if len(f.commits) != tt.commits {
				t.Errorf("%d commits, want %d", len(f.commits), tt.commits)
			}
			words := strings.Join(strings.Fields(stdout), " ")
			for _, l := range tt.stdout {
				if !strings.Contains(words, l) {
					t.Errorf("stdout lacks %q", l)
				}
			}
			if tt.stdout == nil && stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q", tt.stderr)
			}
			log, _ := os.ReadFile(filepath.Join(root, "var/opt/drd/log/event.log"))
			preview := len(tt.args) > 1 && tt.args[1] == "-p"
			wantLog := tt.code != 1 || !strings.Contains(stderr, "too many") // usage errors log nothing
			if preview {
				wantLog = false
			}
			if got := strings.Contains(string(log), "commit"); got != wantLog {
				t.Errorf("event log %q: a commit record %v, want %v", log, got, wantLog)
			}
			if wantLog && tt.code == 1 && !strings.Contains(string(log), "FAIL") {
				t.Errorf("event log %q: want the refusal recorded as failed", log)
			}
		})
	}
}

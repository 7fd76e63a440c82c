package eventlog

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFormatParse(t *testing.T) {
	at := time.Date(2026, 11, 21, 16, 45, 3, 0, time.UTC)
	for _, tc := range []struct {
		r    Record
		line string
	}{
		{Record{Time: at, Type: "runcmd", Name: "CVE-2026-1", User: "root", Notes: `nginx "hot" fix`, Command: "apt-get install -y nginx-light",
			Succeed: []string{"nginx-light=1.22.1-9", "nginx-common=1.22.1-9"}, Fail: []string{"bad=1.0 (refused)"}},
			`2026-11-21T16:45:03Z TYPE="runcmd" NAME="CVE-2026-1" USER="root" NOTES="nginx \"hot\" fix" COMMAND="apt-get install -y nginx-light" SUCCEED="nginx-light=1.22.1-9,nginx-common=1.22.1-9" FAIL="bad=1.0 (refused)"`},
		{Record{Time: at.In(time.FixedZone("CET", 3600)), Type: "clone", Name: "/dev/sdb", User: "ops"},
			`2026-11-21T16:45:03Z TYPE="clone" NAME="/dev/sdb" USER="ops" NOTES="" COMMAND="" SUCCEED="" FAIL=""`},
	} {
		line := Format(tc.r)
		if line != tc.line {
			t.Errorf("Format:\n%s\nwant\n%s", line, tc.line)
		}
		back, err := Parse(line)
		if err != nil {
			t.Fatal(err)
		}
		tc.r.Time = tc.r.Time.UTC()
		if !reflect.DeepEqual(back, tc.r) {
			t.Errorf("Parse(Format(r)) = %+v, want %+v", back, tc.r)
		}
	}
	for _, bad := range []string{"", "yesterday TYPE=\"x\"", `2026-11-21T16:45:03Z TYPE=x`, `2026-11-21T16:45:03Z TYPE`} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestRotation(t *testing.T) {
	rs := Rotation("s.log", 3)
	want := []Rename{{"s.log.2", "s.log.3"}, {"s.log.1", "s.log.2"}, {"s.log", "s.log.1"}}
	if !reflect.DeepEqual(rs, want) {
		t.Errorf("Rotation = %v, want %v", rs, want)
	}
	if n := len(Rotation("s", Keep)); n != 25 {
		t.Errorf("%d renames for 25 kept logs", n)
	}
}

// TestSessions opens 28 sessions: 26 files remain, the newest in
// session.log, the oldest kept in session.log.25.
func TestSessions(t *testing.T) {
	root := t.TempDir()
	for i := 1; i <= 28; i++ {
		w, end := Session(root, nil)
		fmt.Fprintf(w, "session %d\n", i)
		end()
	}
	ents, _ := os.ReadDir(filepath.Join(root, Dir))
	if len(ents) != 26 {
		t.Errorf("%d files in %s, want 26", len(ents), Dir)
	}
	for suffix, want := range map[string]string{"": "session 28", ".1": "session 27", ".25": "session 3"} {
		b, err := os.ReadFile(SessionPath(root) + suffix)
		if err != nil || strings.TrimSpace(string(b)) != want {
			t.Errorf("session.log%s: %q %v, want %q", suffix, b, err, want)
		}
	}
	var main strings.Builder
	w, end := Session(root, &main)
	fmt.Fprint(w, "both\n")
	end()
	if b, _ := os.ReadFile(SessionPath(root)); string(b) != "both\n" || main.String() != "both\n" {
		t.Errorf("session %q, main log %q", b, main.String())
	}
}

func TestAppend(t *testing.T) {
	root := t.TempDir()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, n := range []string{"a", "b"} {
		if err := Append(root, Record{Time: at, Type: "runcmd", Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(EventPath(root))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], `NAME="b"`) {
		t.Errorf("event log:\n%s", b)
	}
}

func TestDone(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ok := Done("clone", "root", "drd clone -t /dev/sdb", at, nil)
	bad := Done("clone", "root", "drd clone -t /dev/sdb", at, fmt.Errorf("cloning to /dev/sdb: no space\nmore"))
	if Format(ok) != `2026-01-02T03:04:05Z TYPE="clone" NAME="clone" USER="root" NOTES="" COMMAND="drd clone -t /dev/sdb" SUCCEED="drd clone -t /dev/sdb" FAIL=""` {
		t.Errorf("success: %s", Format(ok))
	}
	if bad.Notes != "cloning to /dev/sdb: no space" || len(bad.Fail) != 1 || len(bad.Succeed) != 0 {
		t.Errorf("failure: %+v", bad)
	}
}

package console

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drd-linux/drd/internal/report"
)

// clock is a fake time source that advances by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

var start = time.Date(2026, 11, 21, 16, 45, 3, 0, time.UTC)

// session plays a typical command against a Console.
func session(c *Console, clk *fakeClock, err error) {
	c.Begin("Clone System Image", "root")
	c.Step("Checking the target")
	c.Note("target /dev/vdb: 20G, empty")
	c.Warn("the target is smaller than the source disk")
	c.Step("Copying")
	for i := int64(1); i <= 3; i++ {
		c.Progress(report.Progress{What: "copying /", Bytes: i << 30, Total: 4 << 30, Entries: i * 1000, Elapsed: time.Duration(i) * 6 * time.Second})
		clk.t = clk.t.Add(6 * time.Second)
	}
	c.End(err)
}

func TestConsoleLevels(t *testing.T) {
	const (
		begin    = "=======  11/21/26 16:45:03 UTC  BEGIN Clone System Image (user=root)\n"
		steps1   = "* Checking the target\n"
		note     = "  target /dev/vdb: 20G, empty\n"
		warn     = "  WARNING: the target is smaller than the source disk\n"
		steps2   = "* Copying\n"
		progress = "  copying /: 1G of 4G (25%), 1000 entries, 170.7M/s, 0:18 left\n" +
			"  copying /: 3G of 4G (75%), 3000 entries, 170.7M/s, 0:06 left\n"
		endOK   = "=======  11/21/26 16:45:21 UTC  END Clone System Image succeeded with warnings\n"
		errLine = "  ERROR: copying /: disk full\n" +
			"         second line of the error\n"
		endFail = "=======  11/21/26 16:45:21 UTC  END Clone System Image failed\n"
	)
	failure := errors.New("copying /: disk full\nsecond line of the error")
	tests := []struct {
		name  string
		level int
		err   error
		want  string
	}{
		{"default", Default, nil, begin + steps1 + warn + steps2 + progress + endOK},
		{"verbose", Verbose, nil, begin + steps1 + note + warn + steps2 + progress + endOK},
		{"quiet", Quiet, nil, warn + endOK},
		{"silent", Silent, nil, warn},
		{"failed", Default, failure, begin + steps1 + warn + steps2 + progress + errLine + endFail},
		{"silent failed", Silent, failure, warn + errLine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{start}
			var out, log strings.Builder
			c := New(&out, &log, Options{Level: tt.level, Now: clk.now, PID: 42})
			session(c, clk, tt.err)
			if out.String() != tt.want {
				t.Errorf("console:\n%s\nwant:\n%s", out.String(), tt.want)
			}
			// The log has everything, whatever the level.
			all := begin + steps1 + note + warn + steps2 + progress
			if tt.err != nil {
				all += errLine + endFail
			} else {
				all += endOK
			}
			if got := stripLogPrefix(t, log.String()); got != all {
				t.Errorf("log:\n%s\nwant:\n%s", got, all)
			}
			if c.Warnings() != 1 {
				t.Errorf("Warnings() = %d, want 1", c.Warnings())
			}
		})
	}
}

// stripLogPrefix checks and removes "<date> [42] " from every log line.
func stripLogPrefix(t *testing.T, log string) string {
	t.Helper()
	var b strings.Builder
	for _, l := range strings.SplitAfter(log, "\n") {
		if l == "" {
			continue
		}
		date, rest, ok := strings.Cut(l, " [42] ")
		if _, err := time.Parse(DateFormat, date); !ok || err != nil {
			t.Errorf("log line without date and pid: %q", l)
		}
		b.WriteString(rest)
	}
	return b.String()
}

func TestEndWithoutWarnings(t *testing.T) {
	var out strings.Builder
	c := New(&out, nil, Options{Level: Default, Now: func() time.Time { return start }})
	c.Begin("Mount Inactive System Image", "admin")
	c.End(nil)
	want := "=======  11/21/26 16:45:03 UTC  BEGIN Mount Inactive System Image (user=admin)\n" +
		"=======  11/21/26 16:45:03 UTC  END Mount Inactive System Image succeeded\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestTerminalProgress(t *testing.T) {
	clk := &fakeClock{start}
	var out, log strings.Builder
	c := New(&out, &log, Options{Level: Default, Terminal: true, Now: clk.now})
	c.Step("Copying")
	p := report.Progress{What: "copying /", Bytes: 1 << 20, Entries: 5}
	c.Progress(p)
	clk.t = clk.t.Add(10 * time.Millisecond)
	c.Progress(p) // too soon: not redrawn
	clk.t = clk.t.Add(time.Second)
	p.Entries = 6
	c.Progress(p)
	c.Step("Done")
	want := "* Copying\n" +
		"\r  copying /: 1M, 5 entries\x1b[K" +
		"\r  copying /: 1M, 6 entries\x1b[K" +
		"\r\x1b[K* Done\n"
	if out.String() != want {
		t.Errorf("terminal:\n%q\nwant:\n%q", out.String(), want)
	}
	// The log gets the first progress only: the next came within 10 s.
	if n := strings.Count(log.String(), "copying /"); n != 1 {
		t.Errorf("log has %d progress lines, want 1:\n%s", n, log.String())
	}
}

func TestQuietTerminalDrawsNoProgress(t *testing.T) {
	var out strings.Builder
	c := New(&out, nil, Options{Level: Quiet, Terminal: true})
	c.Progress(report.Progress{What: "copying /", Bytes: 1})
	if out.Len() != 0 {
		t.Errorf("quiet console drew %q", out.String())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

func TestLogFailureWarnsOnce(t *testing.T) {
	var out strings.Builder
	c := New(&out, failingWriter{}, Options{Level: Default, Now: func() time.Time { return start }})
	c.Begin("Clone System Image", "root")
	c.Step("one")
	c.Step("two")
	c.End(nil)
	if n := strings.Count(out.String(), "WARNING: writing the log failed"); n != 1 {
		t.Errorf("%d log warnings, want 1:\n%s", n, out.String())
	}
	if c.Warnings() != 1 || !strings.Contains(out.String(), "succeeded with warnings") {
		t.Errorf("log failure not counted as a warning:\n%s", out.String())
	}
}

func TestConcurrentLinesStayWhole(t *testing.T) {
	var out, log lockedBuilder
	c := New(&out, &log, Options{Level: Verbose})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				c.Note("goroutine %d line %d", g, i)
				c.Progress(report.Progress{What: "x", Bytes: int64(i)})
			}
		}()
	}
	wg.Wait()
	for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		if !strings.HasPrefix(l, "  goroutine ") && !strings.HasPrefix(l, "  x: ") {
			t.Fatalf("mixed line %q", l)
		}
	}
	if n := strings.Count(out.String(), "goroutine"); n != 800 {
		t.Errorf("%d notes, want 800", n)
	}
}

// lockedBuilder fails the test's data race check if Console did not lock.
type lockedBuilder struct {
	mu      sync.Mutex
	b       strings.Builder
	writing bool
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	if l.writing {
		panic("concurrent Write")
	}
	l.writing = true
	l.mu.Unlock()
	n, err := l.b.Write(p)
	l.mu.Lock()
	l.writing = false
	l.mu.Unlock()
	return n, err
}

func (l *lockedBuilder) String() string { return l.b.String() }

func TestOpenLog(t *testing.T) {
	root := t.TempDir()
	for i := 0; i < 2; i++ {
		f, err := OpenLog(root)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "line %d\n", i)
		f.Close()
	}
	b, err := os.ReadFile(LogPath(root))
	if err != nil || string(b) != "line 0\nline 1\n" {
		t.Errorf("log = %q, %v; want two appended lines", b, err)
	}
	for path, mode := range map[string]os.FileMode{
		filepath.Join(root, "var/opt/drd"): os.ModeDir | 0o755,
		LogPath(root):                      0o644,
	} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != mode {
			t.Errorf("%s: mode %v, %v; want %v", path, fi.Mode(), err, mode)
		}
	}
}

// drd.log is rotated by size, like the session logs by count: before,
// it grew without bound.
func TestOpenLogRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "var/opt/drd/drd.log")
	const max, keep = 100, 3
	write := func(s string) {
		t.Helper()
		f, err := openLog(path, max, keep)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	big := strings.Repeat("x", max-1) + "\n" // exactly max bytes
	for i := range 6 {
		write(fmt.Sprintf("%d", i) + big)
	}
	write("last\n")
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			return "(" + err.Error() + ")"
		}
		return string(b[:1])
	}
	got := []string{read(path), read(path + ".1"), read(path + ".2"), read(path + ".3")}
	want := []string{"l", "5", "4", "3"}
	if !slices.Equal(got, want) {
		t.Errorf("first bytes of drd.log, .1, .2, .3: %q, want %q", got, want)
	}
	if _, err := os.Stat(path + ".4"); err == nil {
		t.Errorf("%s.4 exists: only %d rotated logs are kept", path, keep)
	}
	// Below max, the log is appended to.
	write("more\n")
	if b, _ := os.ReadFile(path); string(b) != "last\nmore\n" {
		t.Errorf("drd.log = %q, want two appended lines", b)
	}
}

// A log rotated by another drd after this one opened it is opened again:
// the lines go to the new drd.log, not to drd.log.1.
func TestRotateIfFullSeesOtherRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "drd.log")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if rotated, err := rotateIfFull(f, path, 1<<20, 3); err != nil || !rotated {
		t.Errorf("rotateIfFull of a file renamed away = %v, %v; want true (open again)", rotated, err)
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) || IsTerminal(&strings.Builder{}) {
		t.Error("IsTerminal(a file or a buffer) = true")
	}
}

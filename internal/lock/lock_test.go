package lock

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

var holder = Holder{PID: 1234, User: "root", Command: "drd clone -t /dev/vdb", Since: time.Date(2026, 11, 21, 16, 45, 3, 0, time.UTC)}

func TestAcquireRefusesSecond(t *testing.T) {
	root := t.TempDir()
	l, err := Acquire(root, holder)
	if err != nil {
		t.Fatal(err)
	}
	// flock conflicts between two open files even in one process.
	later := holder.Since.Add(72 * time.Hour)
	_, err = Acquire(root, Holder{PID: 99, User: "bob", Command: "drd mount", Since: later})
	var busy *BusyError
	if !errors.As(err, &busy) || !errors.Is(err, ErrBusy) {
		t.Fatalf("second Acquire: %v, want a *BusyError", err)
	}
	if !busy.Now.Equal(later) {
		t.Errorf("BusyError.Now = %v, want the refused caller's time %v (not the machine's clock)", busy.Now, later)
	}
	if !busy.Known || busy.Holder.PID != holder.PID || busy.Holder.Command != holder.Command {
		t.Errorf("BusyError holder = %+v (known %v), want %+v", busy.Holder, busy.Known, holder)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(root, holder)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
	if b, _ := os.ReadFile(Path(root)); len(b) != 0 {
		t.Errorf("lock file after Release holds %q, want it empty", b)
	}
}

func TestAcquireWritesHolder(t *testing.T) {
	root := t.TempDir()
	l, err := Acquire(root, holder)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	b, err := os.ReadFile(Path(root))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"pid": 1234`, `"user": "root"`, `"command": "drd clone -t /dev/vdb"`, `"since": "2026-11-21T16:45:03Z"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("lock file %s lacks %s", b, want)
		}
	}
	fi, err := os.Stat(Path(root))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("lock file mode: %v %v, want 0644", fi.Mode(), err)
	}
}

func TestStaleFileIsNoLock(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(root+"/var/opt/drd", 0o755); err != nil {
		t.Fatal(err)
	}
	stale := `{"pid": 999999, "user": "root", "command": "drd clone -t /dev/vdc", "since": "2020-01-01T00:00:00Z"}` + "\n"
	if err := os.WriteFile(Path(root), []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Acquire(root, holder)
	if err != nil {
		t.Fatalf("Acquire over a stale file: %v", err)
	}
	defer l.Release()
	if b, _ := os.ReadFile(Path(root)); strings.Contains(string(b), "999999") || !strings.Contains(string(b), "1234") {
		t.Errorf("lock file not rewritten: %s", b)
	}
}

// TestDeadHolderReleases holds the lock in a child process, kills it, and
// takes the lock: the kernel released it.
func TestDeadHolderReleases(t *testing.T) {
	if os.Getenv("LOCK_TEST_HOLD") != "" {
		return
	}
	root := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHold$")
	cmd.Env = append(os.Environ(), "LOCK_TEST_HOLD="+root)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "locked") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper: %q %v", line, err)
	}
	_, err = Acquire(root, holder)
	var busy *BusyError
	if !errors.As(err, &busy) || busy.Holder.PID != cmd.Process.Pid {
		t.Errorf("Acquire while the helper holds the lock: %v, want busy by pid %d", err, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := Acquire(root, holder)
	if err != nil {
		t.Fatalf("Acquire after the holder died: %v", err)
	}
	l.Release()
}

// TestHelperHold is the child of TestDeadHolderReleases.
func TestHelperHold(t *testing.T) {
	root := os.Getenv("LOCK_TEST_HOLD")
	if root == "" {
		t.Skip("helper process only")
	}
	l, err := Acquire(root, Holder{PID: os.Getpid(), User: "root", Command: "drd clone", Since: time.Now()})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
	l.Release() // keeps l (and its file) alive until the parent kills us
	os.Exit(0)
}

func TestBusyMessage(t *testing.T) {
	tests := []struct {
		e    BusyError
		want string
	}{
		{BusyError{Holder: holder, Known: true, Now: holder.Since.Add(time.Hour)},
			`another drd command is running: pid 1234 (user root) "drd clone -t /dev/vdb" since 16:45:03; wait for it to end, or stop it (kill -INT 1234), then try again`},
		{BusyError{Holder: holder, Known: true, Now: holder.Since.Add(48 * time.Hour)},
			`another drd command is running: pid 1234 (user root) "drd clone -t /dev/vdb" since 11/21/26 16:45:03 UTC; wait for it to end, or stop it (kill -INT 1234), then try again`},
		{BusyError{Path: "/r/var/opt/drd/drd.lock"},
			`another drd command is running (/r/var/opt/drd/drd.lock is locked); wait for it to end, then try again`},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() =\n%s\nwant\n%s", got, tt.want)
		}
	}
}

func TestAcquireFailsOnUnusableRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(root+"/var", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(root, holder); err == nil || errors.Is(err, ErrBusy) {
		t.Errorf("Acquire with /var a file: %v, want a plain error", err)
	}
}

// TestAcquireWaitingForBootCheck: a command started while the boot check
// holds the lock waits for it and then runs; a command started while
// any other drd command holds it fails at once, as before.
func TestAcquireWaitingForBootCheck(t *testing.T) {
	root := t.TempDir()
	check := Holder{PID: 321, User: "root", Command: "/usr/lib/drd/drd boot-check", Since: holder.Since}
	held, err := Acquire(root, check)
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(300 * time.Millisecond)
		held.Release()
		close(released)
	}()
	var said []*BusyError
	isCheck := func(h Holder) bool { return h.Command == check.Command }
	w := Waiting{For: isCheck, Poll: 20 * time.Millisecond, Start: func(e *BusyError) { said = append(said, e) }}
	l, err := AcquireWaiting(context.Background(), root, holder, w)
	if err != nil {
		t.Fatalf("a command after the boot check: %v, want it to wait and get the lock", err)
	}
	select {
	case <-released:
	default:
		t.Fatal("got the lock while the boot check still held it")
	}
	if len(said) != 1 || said[0].Holder.PID != 321 {
		t.Errorf("Start called with %v, want once with the boot check", said)
	}
	// Any other holder: no wait.
	t0 := time.Now()
	_, err = AcquireWaiting(context.Background(), root, Holder{PID: 99, Command: "drd mount", Since: holder.Since}, w)
	if !errors.Is(err, ErrBusy) || time.Since(t0) > 200*time.Millisecond {
		t.Errorf("a command while drd clone holds the lock: %v after %v, want busy at once", err, time.Since(t0))
	}
	l.Release()
	// A boot check that does not end: the caller's context ends the wait.
	held, _ = Acquire(root, check)
	defer held.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := AcquireWaiting(ctx, root, holder, w); !errors.Is(err, ErrBusy) {
		t.Errorf("waiting past the context: %v, want busy", err)
	}
}

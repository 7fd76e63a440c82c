package runcmd

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestNewRelay: only the files of drd that are terminals are replaced by
// the command's own pseudo-terminal, which gets the operator's window
// size and no suspend character; without a terminal nothing changes.
func TestNewRelay(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, jail, err := newRelay(Stdio{In: f, Out: f})
	if err != nil || r != nil || jail.In != f || jail.Out != f || jail.Err != nil {
		t.Fatalf("no terminal: relay %v, stdio %+v, %v", r, jail, err)
	}

	ptm, pts, err := openPTY()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptm.Close()
	defer pts.Close()
	if err := unix.IoctlSetWinsize(int(pts.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 33, Col: 99}); err != nil {
		t.Fatal(err)
	}
	r, jail, err = newRelay(Stdio{In: pts, Out: f, Err: pts})
	if err != nil || r == nil {
		t.Fatalf("relay %v, %v", r, err)
	}
	defer r.stop()
	if jail.In == pts || jail.Err == pts || jail.In != jail.Err || jail.Out != f {
		t.Errorf("the jail's stdio %+v: want a new terminal in place of the operator's, the file kept", jail)
	}
	if r.out != pts || r.in != pts {
		t.Errorf("relay in %v out %v, want the operator's terminal", r.in, r.out)
	}
	ws, err := unix.IoctlGetWinsize(int(jail.In.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Row != 33 || ws.Col != 99 {
		t.Errorf("the command's window %+v %v, want 33x99", ws, err)
	}
	tio, err := unix.IoctlGetTermios(int(jail.In.Fd()), unix.TCGETS)
	if err != nil || tio.Cc[unix.VSUSP] != 0 {
		t.Errorf("the command's suspend character %v %v, want none", tio.Cc[unix.VSUSP], err)
	}
}

package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// console keeps every byte of a VM's serial console: in a log file, and in
// memory so that scenarios can wait for patterns.
type console struct {
	w       io.Writer // the serial line, for Send
	log     *os.File
	mu      sync.Mutex
	buf     []byte
	mark    int           // Wait looks at buf[mark:]
	changed chan struct{} // closed and replaced on every new byte and at the end
	ended   bool
	reads   []arrival // when each read's bytes came, for Lines
}

// arrival is the end offset in buf of a read and when it came.
type arrival struct {
	end int
	at  time.Time
}

func newConsole(r io.Reader, w io.Writer, logPath string) (*console, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the console log: %w", err)
	}
	c := &console{w: w, log: f, changed: make(chan struct{})}
	go c.read(r)
	return c, nil
}

func (c *console) read(r io.Reader) {
	b := make([]byte, 32<<10)
	for {
		n, err := r.Read(b)
		if n > 0 {
			c.log.Write(b[:n])
			c.mu.Lock()
			c.buf = append(c.buf, b[:n]...)
			c.reads = append(c.reads, arrival{len(c.buf), time.Now()})
			close(c.changed)
			c.changed = make(chan struct{})
			c.mu.Unlock()
		}
		if err != nil {
			c.mu.Lock()
			c.ended = true
			close(c.changed)
			c.changed = make(chan struct{})
			c.mu.Unlock()
			c.log.Close()
			return
		}
	}
}

// Wait waits until the console shows a match of re after the previous
// match, and returns the match and its submatches.
func (c *console) Wait(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	for {
		c.mu.Lock()
		loc := re.FindSubmatchIndex(c.buf[c.mark:])
		if loc != nil {
			m := make([]string, len(loc)/2)
			for i := range m {
				if loc[2*i] >= 0 {
					m[i] = string(c.buf[c.mark+loc[2*i] : c.mark+loc[2*i+1]])
				}
			}
			c.mark += loc[1]
			c.mu.Unlock()
			return m, nil
		}
		ch, ended := c.changed, c.ended
		c.mu.Unlock()
		if ended {
			return nil, fmt.Errorf("console closed (VM stopped) before %q appeared", re)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Line is a line of the console and when its end arrived.
type Line struct {
	Text string // without escape sequences and carriage returns
	At   time.Time
}

// Lines returns the whole lines of buf[from:to] (offsets from Position),
// each with its arrival.
func (c *console) Lines(from, to int) []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Line
	r := 0
	start := from
	for i := from; i < to && i < len(c.buf); i++ {
		if c.buf[i] != '\n' {
			continue
		}
		for r < len(c.reads) && c.reads[r].end <= i {
			r++
		}
		if r == len(c.reads) {
			break
		}
		text := strings.ReplaceAll(ansi.ReplaceAllString(string(c.buf[start:i]), ""), "\r", "")
		out = append(out, Line{Text: text, At: c.reads[r].at})
		start = i + 1
	}
	return out
}

// Position is where the next Wait starts looking (after the last match).
func (c *console) Position() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mark
}

// Skip makes the next Wait look only at output that comes after now.
func (c *console) Skip() {
	c.mu.Lock()
	c.mark = len(c.buf)
	c.mu.Unlock()
}

// Contains reports whether the console ever showed s.
func (c *console) Contains(s string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Contains(string(c.buf), s)
}

// Send writes s to the serial line.
func (c *console) Send(s string) error {
	_, err := io.WriteString(c.w, s)
	return err
}

var ansi = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>])`)

// Tail returns the last n lines of the console, without escape sequences
// and carriage returns, for error messages.
func (c *console) Tail(n int) string {
	c.mu.Lock()
	s := string(c.buf)
	c.mu.Unlock()
	s = ansi.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "\r", "")
	return lastLines(s, n)
}

// Package wire is the line protocol between the e2e harness on the host and
// its agent in the guest, spoken over a virtio-serial port.
//
// Every message is one line of JSON. Lines that do not parse are skipped, so
// a half-written message left behind by a guest that rebooted mid-line is
// lost, never misread: the agent starts every session with an empty line and
// a hello.
package wire

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// Message types.
const (
	Hello = "hello" // guest → host: the agent started; BootID is set
	Run   = "run"   // host → guest: run Cmd with /bin/sh -c
	Kill  = "kill"  // host → guest: kill the process group of run ID
	Out   = "out"   // guest → host: a chunk of standard output of run ID
	Err   = "err"   // guest → host: a chunk of standard error of run ID
	Exit  = "exit"  // guest → host: run ID ended with Code (Error if it could not start)
)

// Msg is one message. Data is base64 in JSON, so any byte survives.
type Msg struct {
	T      string `json:"t"`
	ID     uint64 `json:"id,omitempty"`
	Cmd    string `json:"cmd,omitempty"`
	Data   []byte `json:"d,omitempty"`
	Code   int    `json:"code,omitempty"`
	Error  string `json:"error,omitempty"`
	BootID string `json:"boot_id,omitempty"`
}

// MaxLine bounds one encoded message; chunks of output are kept well below.
const MaxLine = 1 << 20

// Encode returns m as one line.
func Encode(m Msg) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding %s message: %w", m.T, err)
	}
	return append(b, '\n'), nil
}

// Write writes m to w in a single Write call, so concurrent writers that
// serialise their calls never interleave lines.
func Write(w io.Writer, m Msg) error {
	b, err := Encode(m)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Reader reads messages, skipping lines that are not messages.
type Reader struct {
	s *bufio.Scanner
	// Junk, if set, receives every non-empty line that was skipped.
	Junk func(line []byte)
}

// NewReader reads messages from r.
func NewReader(r io.Reader) *Reader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), MaxLine)
	return &Reader{s: s}
}

// Next returns the next message, or the read error (io.EOF at the end).
func (r *Reader) Next() (Msg, error) {
	for r.s.Scan() {
		line := r.s.Bytes()
		if len(line) == 0 {
			continue
		}
		var m Msg
		if err := json.Unmarshal(line, &m); err != nil || m.T == "" {
			if r.Junk != nil {
				r.Junk(append([]byte(nil), line...))
			}
			continue
		}
		return m, nil
	}
	if err := r.s.Err(); err != nil {
		return Msg{}, err
	}
	return Msg{}, io.EOF
}

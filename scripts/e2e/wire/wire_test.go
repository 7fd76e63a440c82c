package wire

import (
	"bytes"
	"io"
	"testing"
)

func TestReaderSkipsTornLines(t *testing.T) {
	var buf bytes.Buffer
	for _, m := range []Msg{{T: Out, ID: 1, Data: []byte{0, 1, '\n', 0xff}}, {T: Exit, ID: 1, Code: 3}} {
		if err := Write(&buf, m); err != nil {
			t.Fatal(err)
		}
	}
	// A guest that rebooted mid-line leaves half a message; the new agent
	// starts with an empty line and a hello.
	buf.WriteString(`{"t":"out","id":2,"d":"AAA`)
	buf.WriteString("\n")
	if err := Write(&buf, Msg{T: Hello, BootID: "b2"}); err != nil {
		t.Fatal(err)
	}
	r := NewReader(&buf)
	var junk int
	r.Junk = func([]byte) { junk++ }
	var got []Msg
	for {
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if len(got) != 3 || junk != 1 {
		t.Fatalf("got %d messages and %d junk lines, want 3 and 1: %+v", len(got), junk, got)
	}
	if !bytes.Equal(got[0].Data, []byte{0, 1, '\n', 0xff}) || got[1].Code != 3 || got[2].BootID != "b2" {
		t.Errorf("messages changed on the way: %+v", got)
	}
}

package eventlog

import "testing"

// FuzzParse: an event line is read or refused, and a record read formats
// to a line that reads back to the same record.
func FuzzParse(f *testing.F) {
	f.Add(`2026-11-21T10:00:00Z TYPE="clone" NAME="sysimage_001" USER="root" NOTES="" COMMAND="drd clone -t /dev/sdb" SUCCEED="" FAIL=""`)
	f.Add(`2026-11-21T10:00:00+01:00 TYPE="runcmd" SUCCEED="vim=2:9.0,curl=7.88" FAIL="a\",b" OTHER="x"`)
	f.Add(`2026-11-21T10:00:00Z TYPE=unquoted`)
	f.Add(`2026-11-21T10:00:00Z NOEQUALS`)
	f.Add(`yesterday TYPE="clone"`)
	f.Add(`0000-01-01T00:00:00+01:00 TYPE="clone"`)
	f.Fuzz(func(t *testing.T, line string) {
		r, err := Parse(line)
		if err != nil {
			return
		}
		out := Format(r)
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("%q read, formatted to %q, which does not read: %v", line, out, err)
		}
		if Format(again) != out {
			t.Errorf("%q read, formatted to %q, read and formatted again to %q", line, out, Format(again))
		}
	})
}

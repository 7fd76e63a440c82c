package options

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// FuzzParseFile: any -X option file is read or refused with a *FileError
// naming a line of the file.
func FuzzParseFile(f *testing.F) {
	f.Add([]byte("# a comment\n\noverwrite = true\n  count=5   # trailing comment\nimage_size=500M\nexclude=/a\nexclude=/b\n"))
	f.Add([]byte("label=first \\\nsecond \\\nthird\ncount=\\\n42\n"))
	f.Add([]byte("count=9\r\nlabel=x\r\nmode=never\ntries=10\n"))
	f.Add([]byte("label=a\\"))
	f.Add([]byte("not an option\n"))
	f.Fuzz(func(t *testing.T, file []byte) {
		_, err := Parse(testSpecs, Defaults{}, nil, file)
		if err == nil {
			return
		}
		var fe *FileError
		if !errors.As(err, &fe) {
			t.Fatalf("an error in the file is no *FileError: %v", err)
		}
		if lines := strings.Count(string(file), "\n") + 1; fe.Line < 1 || fe.Line > lines {
			t.Errorf("error on line %d of a file of %d lines: %v", fe.Line, lines, err)
		}
	})
}

// FuzzParseConf: a drd.conf is refused with a *FileError, or every
// command takes its defaults.
func FuzzParseConf(f *testing.F) {
	f.Add([]byte("clone.overwrite=true\nclone.exclude=/a\nother.tries=3\n# c\ngrp.sub.label=x y\n"))
	f.Add([]byte("clone.overwite=true\n"))
	f.Add([]byte("nocommand=1\n"))
	f.Add([]byte("other.tries=4\n"))
	f.Fuzz(func(t *testing.T, file []byte) {
		c, err := ParseConf(file, testCommands)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("an error in drd.conf is no *FileError: %v", err)
			}
			return
		}
		for cmd, specs := range testCommands {
			if _, err := Parse(specs, c.For(cmd), nil, nil); err != nil {
				t.Errorf("drd.conf accepted, but drd %s refuses its defaults: %v", cmd, err)
			}
		}
	})
}

// FuzzParseSize: a size read is not negative, and the way drd prints it
// reads back to within the rounding of one decimal.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"8G", "500M", "1.5T", "4096", "2KiB", "3mb", "0.01K", "9223372036854775807", "8P", "-1", "1e3", ".", "B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
		if n >= 1<<60 {
			return // printed in E, a unit ParseSize does not take
		}
		back, err := ParseSize(FormatSize(n))
		if err != nil {
			t.Fatalf("ParseSize(FormatSize(%d) = %q): %v", n, FormatSize(n), err)
		}
		if math.Abs(float64(back-n)) > float64(n)/20 {
			t.Errorf("ParseSize(FormatSize(%d) = %q) = %d", n, FormatSize(n), back)
		}
	})
}

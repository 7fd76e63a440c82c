package etcmerge

import (
	"errors"
	"testing"
)

func TestFile(t *testing.T) {
	bin := []byte("\x7fELF\x00\x01")
	bad := []byte("caf\xe9\n") // Latin-1, not UTF-8
	tests := []struct {
		name, path          string
		base, clone, booted []byte
		want                []byte
		conflict            string
	}{
		{"clone unchanged", "/etc/motd", text("a"), text("a"), text("b"), text("b"), ""},
		{"booted unchanged", "/etc/motd", text("a"), text("c"), text("a"), text("c"), ""},
		{"binary changed on one side", "/etc/ld.so.cache", bin, bin, append(bin, 2), append(bin, 2), ""},
		{"binary changed on both sides the same", "/etc/ld.so.cache", bin, append(bin, 3), append(bin, 3), append(bin, 3), ""},
		{"binary changed on both sides", "/etc/ld.so.cache", bin, append(bin, 3), append(bin, 2), nil, "binary file"},
		{"not UTF-8", "/etc/motd", text("a", "b", "c"), append(text("A", "b"), bad...), text("a", "b", "C"), nil, "binary file"},
		{"text by line", "/etc/motd", text("a", "b", "c"), text("A", "b", "c"), text("a", "b", "C"), text("A", "b", "C"), ""},
		{"passwd by entry", "/etc/passwd", text("root:x:0:0::/root:/bin/sh"),
			text("root:x:0:0::/root:/bin/sh", "a:x:5:5::/:/bin/sh"),
			text("root:x:0:0::/root:/bin/sh", "b:x:6:6::/:/bin/sh"),
			text("root:x:0:0::/root:/bin/sh", "a:x:5:5::/:/bin/sh", "b:x:6:6::/:/bin/sh"), ""},
		{"path without its slash", "etc/group", text("g:x:1:"), text("g:x:1:a"), text("g:x:1:b"), text("g:x:1:a,b"), ""},
		// A file of that name elsewhere is text: a line conflict, not a merged entry.
		{"passwd elsewhere is text", "/etc/default/passwd", text("x"), text("x", "a"), text("x", "b"),
			nil, "both sides changed what follows line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := File(tt.path, tt.base, tt.clone, tt.booted)
			if tt.conflict != "" {
				var c *Conflict
				if !errors.As(err, &c) || c.Reason != tt.conflict {
					t.Fatalf("File = %q, %v; want conflict %q", got, err, tt.conflict)
				}
				if c.Error() != tt.conflict {
					t.Errorf("Error() = %q, want %q", c.Error(), tt.conflict)
				}
				return
			}
			if err != nil || string(got) != string(tt.want) {
				t.Fatalf("File = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

package grub

import (
	"bytes"
	"strings"
	"testing"
)

func TestEnvDecode(t *testing.T) {
	pad := func(s string) []byte {
		return append([]byte(s), bytes.Repeat([]byte{'#'}, EnvSize-len(s))...)
	}
	for _, tt := range []struct {
		name string
		in   []byte
		want Env
		err  string
	}{
		{"empty", pad(envHeader), nil, ""},
		{"vars", pad(envHeader + "a=1\nb=x=y\n"), Env{{"a", "1"}, {"b", "x=y"}}, ""},
		{"escapes", pad(envHeader + "a=back\\\\slash\\\nnext\n"), Env{{"a", "back\\slash\nnext"}}, ""},
		{"comment lines", pad(envHeader + "# note\na=1\n"), Env{{"a", "1"}}, ""},
		{"no equals skipped", pad(envHeader + "junk\na=1\n"), Env{{"a", "1"}}, ""},
		{"last one wins", pad(envHeader + "a=1\na=2\n"), Env{{"a", "2"}}, ""},
		{"short", []byte(envHeader), nil, "is 1024 bytes"},
		{"no header", pad("# GRUB Env\n"), nil, "no header"},
		{"runaway line", append([]byte(envHeader), bytes.Repeat([]byte{'a'}, EnvSize-len(envHeader))...), nil, "runs to the end"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeEnv(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func TestEnvEncodeRefuses(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  Env
		err  string
	}{
		{"too big", Env{{"a", strings.Repeat("x", 1000)}}, "do not fit"},
		{"bad name", Env{{"a=b", "1"}}, "name"},
		{"comment name", Env{{"#a", "1"}}, "name"},
		{"twice", Env{{"a", "1"}, {"a", "2"}}, "twice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.env.Encode(); err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
}

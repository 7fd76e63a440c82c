package grub

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzDecodeEnv: a block that decodes and encodes again decodes to the
// same variables, in a block of EnvSize bytes.
func FuzzDecodeEnv(f *testing.F) {
	// drd's own blocks, as bootenv writes them (its golden files in
	// bootenv/testdata/grubenv).
	for _, e := range []Env{
		{{"drd_seq", "1"}, {"drd_next", "sysimage_000"}, {"drd_trial", ""}, {"drd_tries", "0"}},
		{{"drd_seq", "7"}, {"drd_next", "sysimage_000"}, {"drd_trial", "sysimage_001"}, {"drd_tries", "2"}},
	} {
		b, err := e.Encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	pad := func(s string) []byte { return append([]byte(s), bytes.Repeat([]byte{'#'}, EnvSize-len(s))...) }
	f.Add(pad(envHeader + "a=1\nb=x\\\ny\\\\z\nc\n=d\n#e=f\na=2\n"))
	f.Add(pad(envHeader + "a=no end"))
	f.Add([]byte(envHeader))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEnv(b)
		if err != nil {
			return
		}
		out, err := e.Encode()
		if err != nil {
			return // names GRUB reads but drd never writes
		}
		if len(out) != EnvSize {
			t.Fatalf("encoded block is %d bytes", len(out))
		}
		again, err := DecodeEnv(out)
		if err != nil {
			t.Fatalf("an encoded block does not decode: %v", err)
		}
		if !reflect.DeepEqual(e, again) {
			t.Errorf("decoded %q, encoded and decoded again %q", e, again)
		}
	})
}

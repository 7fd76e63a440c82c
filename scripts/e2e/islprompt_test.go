package e2e

import "testing"

func TestISLReply(t *testing.T) {
	for _, c := range []struct{ raw, cmd, want string }{
		{"list\r\nIMAGE  DISK\r\nsysimage_000  /dev/vda\r\n", "list", "IMAGE  DISK\nsysimage_000  /dev/vda\n"},
		{"\x1b[0mstatus\r\nBoot target:  sysimage_001\r\n", "status", "Boot target:  sysimage_001\n"},
		// No echo (a console that does not echo): the answer as it came.
		{"error: unknown command \"x\"\r\n", "x y", "error: unknown command \"x\"\n"},
	} {
		if got := islReply(c.raw, c.cmd); got != c.want {
			t.Errorf("islReply(%q, %q) = %q, want %q", c.raw, c.cmd, got, c.want)
		}
	}
}

package bootenv

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMountHint(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{unix.EBUSY, "run drd mount again"},
		{fmt.Errorf("wrapped: %w", unix.EBADMSG), "fsck"},
		{unix.EINVAL, "fsck"},
		{unix.EUCLEAN, "fsck"},
		{unix.ENOENT, ""},
	} {
		got := mountHint(tc.err)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("mountHint(%v) = %q, want one saying %q", tc.err, got, tc.want)
		}
	}
}

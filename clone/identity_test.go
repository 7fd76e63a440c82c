package clone

import (
	"strings"
	"testing"
)

func TestParseIdentityList(t *testing.T) {
	got, err := ParseIdentityList([]byte("# mine\n/etc/salt/minion_id\n\n  /etc/puppetlabs/puppet/ssl/*  \n"))
	if err != nil || strings.Join(got, ",") != "/etc/salt/minion_id,/etc/puppetlabs/puppet/ssl/*" {
		t.Errorf("got %q, %v", got, err)
	}
	for _, bad := range []string{"etc/x", "/", "/etc/../root", "/etc//x", "/etc/[", "/a/./b"} {
		if _, err := ParseIdentityList([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzIdentityList: whatever the list, what it accepts are absolute,
// clean paths that stay inside the image.
func FuzzIdentityList(f *testing.F) {
	f.Add([]byte("/etc/hostname\n# c\n/etc/ssh/ssh_host_*\n"))
	f.Add([]byte("/../etc\n"))
	f.Add([]byte("/etc/[a-\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		paths, err := ParseIdentityList(data)
		if err != nil {
			return
		}
		for _, p := range paths {
			if !strings.HasPrefix(p, "/") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") || p == "/" {
				t.Errorf("accepted %q", p)
			}
		}
	})
}

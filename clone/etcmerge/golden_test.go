package etcmerge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drd-linux/drd/internal/golden"
)

// TestDebian merges the files of a Debian /etc as issue 13's scenario
// changes them: a package in the clone added the system user _chrony, the
// booted system added the user alice (in sudo and adm), changed admin's
// shell and password, and edited sshd_config where the clone's package
// upgrade did not.
func TestDebian(t *testing.T) {
	want := map[string][]string{ // what each merged file must say, whatever the golden says
		"passwd":      {"_chrony:x:102:109:", "alice:x:1001:1001:", "admin:x:1000:1000:Admin,,,:/home/admin:/bin/zsh"},
		"group":       {"adm:x:4:admin,_chrony,alice\n", "sudo:x:27:admin,alice\n", "_chrony:x:109:\n", "alice:x:1001:\n"},
		"shadow":      {"_chrony:!:", "alice:$y$j9T$alice$hash:", "admin:$y$j9T$new$hash:"},
		"gshadow":     {"adm:*::admin,_chrony,alice\n", "sudo:*::admin,alice\n", "_chrony:!::\n", "alice:!::\n"},
		"sshd_config": {"Port 2222\n", "X11Forwarding no\n", "\tForceCommand internal-sftp\n"},
	}
	for name, needs := range want {
		t.Run(name, func(t *testing.T) {
			read := func(side string) []byte {
				b, err := os.ReadFile(filepath.Join("testdata/debian", name+"."+side))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			got, err := File("/etc/"+name, read("base"), read("clone"), read("booted"))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range needs {
				if !strings.Contains(string(got), s) {
					t.Errorf("merged %s lacks %q:\n%s", name, s, got)
				}
			}
			golden.Check(t, filepath.Join("testdata/debian", name+".merged"), got)
		})
	}
}

package etcmerge

import (
	"errors"
	"testing"
)

var basePasswd = text(
	"root:x:0:0:root:/root:/bin/bash",
	"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
	"bob:x:1000:1000:Bob:/home/bob:/bin/bash",
	"carol:x:1001:1001:Carol:/home/carol:/bin/bash",
)

var baseGroup = text(
	"root:x:0:",
	"sudo:x:27:bob",
	"users:x:100:bob,carol",
	"bob:x:1000:",
)

func TestAccounts(t *testing.T) {
	tests := []struct {
		name, file          string
		base, clone, booted []byte
		want                []byte
		conflict            string
	}{
		{"user added on each side", "passwd", basePasswd,
			text("root:x:0:0:root:/root:/bin/bash",
				"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
				"_chrony:x:104:110:Chrony daemon:/var/lib/chrony:/usr/sbin/nologin",
				"bob:x:1000:1000:Bob:/home/bob:/bin/bash",
				"carol:x:1001:1001:Carol:/home/carol:/bin/bash"),
			text("root:x:0:0:root:/root:/bin/bash",
				"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
				"bob:x:1000:1000:Bob:/home/bob:/bin/bash",
				"carol:x:1001:1001:Carol:/home/carol:/bin/bash",
				"dave:x:1002:1002:Dave:/home/dave:/bin/bash",
				"erin:x:1003:1003:Erin:/home/erin:/bin/bash"),
			text("root:x:0:0:root:/root:/bin/bash",
				"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
				"_chrony:x:104:110:Chrony daemon:/var/lib/chrony:/usr/sbin/nologin",
				"bob:x:1000:1000:Bob:/home/bob:/bin/bash",
				"carol:x:1001:1001:Carol:/home/carol:/bin/bash",
				"dave:x:1002:1002:Dave:/home/dave:/bin/bash",
				"erin:x:1003:1003:Erin:/home/erin:/bin/bash"), ""},
		{"same user added on both sides", "passwd", basePasswd,
			append(append([]byte{}, basePasswd...), "dave:x:1002:1002::/home/dave:/bin/sh\n"...),
			append(append([]byte{}, basePasswd...), "dave:x:1002:1002::/home/dave:/bin/sh\n"...),
			append(append([]byte{}, basePasswd...), "dave:x:1002:1002::/home/dave:/bin/sh\n"...), ""},
		{"same name added differently", "passwd", basePasswd,
			append(append([]byte{}, basePasswd...), "dave:x:1002:1002::/home/dave:/bin/sh\n"...),
			append(append([]byte{}, basePasswd...), "dave:x:1003:1003::/home/dave:/bin/sh\n"...),
			nil, "user 'dave' added on both sides with different entries"},
		{"changed on one side, added on the other", "passwd", basePasswd,
			text("root:x:0:0:root:/root:/bin/zsh",
				"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
				"bob:x:1000:1000:Bob:/home/bob:/bin/bash",
				"carol:x:1001:1001:Carol:/home/carol:/bin/bash"),
			text("root:x:0:0:root:/root:/bin/bash",
				"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
				"bob:x:1000:1000:Robert:/home/bob:/bin/bash",
				"carol:x:1001:1001:Carol:/home/carol:/bin/bash",
				"dave:x:1002:1002::/home/dave:/bin/sh"),
			text("root:x:0:0:root:/root:/bin/zsh",
				"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
				"bob:x:1000:1000:Robert:/home/bob:/bin/bash",
				"carol:x:1001:1001:Carol:/home/carol:/bin/bash",
				"dave:x:1002:1002::/home/dave:/bin/sh"), ""},
		{"changed on both sides differently", "passwd", basePasswd,
			text("root:x:0:0:root:/root:/bin/bash",
				"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
				"bob:x:1000:1000:Bob:/home/bob:/bin/zsh",
				"carol:x:1001:1001:Carol:/home/carol:/bin/bash"),
			text("root:x:0:0:root:/root:/bin/bash",
				"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
				"bob:x:1000:1000:Bob:/home/bob:/bin/fish",
				"carol:x:1001:1001:Carol:/home/carol:/bin/bash"),
			nil, "user 'bob' changed on both sides with different entries"},
		{"changed on both sides the same", "passwd", basePasswd,
			text("root:x:0:0:root:/root:/bin/bash",
				"bob:x:1000:1000:Bob:/home/bob:/bin/zsh",
				"carol:x:1001:1001:Carol:/home/carol:/bin/bash"),
			text("root:x:0:0:root:/root:/bin/bash",
				"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
				"bob:x:1000:1000:Bob:/home/bob:/bin/zsh",
				"carol:x:1001:1001:Carol:/home/carol:/bin/bash"),
			text("root:x:0:0:root:/root:/bin/bash",
				"bob:x:1000:1000:Bob:/home/bob:/bin/zsh",
				"carol:x:1001:1001:Carol:/home/carol:/bin/bash"), ""},
		{"deleted on each side", "passwd", basePasswd,
			text("root:x:0:0:root:/root:/bin/bash",
				"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
				"bob:x:1000:1000:Bob:/home/bob:/bin/bash"),
			text("root:x:0:0:root:/root:/bin/bash",
				"bob:x:1000:1000:Bob:/home/bob:/bin/bash",
				"carol:x:1001:1001:Carol:/home/carol:/bin/bash"),
			text("root:x:0:0:root:/root:/bin/bash",
				"bob:x:1000:1000:Bob:/home/bob:/bin/bash"), ""},
		{"deleted in the clone, changed on the booted system", "passwd", basePasswd,
			text("root:x:0:0:root:/root:/bin/bash",
				"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
				"bob:x:1000:1000:Bob:/home/bob:/bin/bash"),
			text("root:x:0:0:root:/root:/bin/bash",
				"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
				"bob:x:1000:1000:Bob:/home/bob:/bin/bash",
				"carol:x:1001:1001:Carol:/home/carol:/bin/zsh"),
			nil, "user 'carol' deleted in the clone and changed on the booted system"},
		{"deleted on the booted system, changed in the clone", "passwd", basePasswd,
			text("root:x:0:0:root:/root:/bin/bash",
				"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
				"bob:x:1000:1000:Bob:/home/bob:/bin/bash",
				"carol:x:1001:1001:Carol:/home/carol:/bin/zsh"),
			text("root:x:0:0:root:/root:/bin/bash",
				"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
				"bob:x:1000:1000:Bob:/home/bob:/bin/bash"),
			nil, "user 'carol' deleted on the booted system and changed in the clone"},
		{"uid given to two new names", "passwd", basePasswd,
			append(append([]byte{}, basePasswd...), "_apt:x:1002:65534::/nonexistent:/usr/sbin/nologin\n"...),
			append(append([]byte{}, basePasswd...), "dave:x:1002:1002::/home/dave:/bin/sh\n"...),
			nil, "uid 1002 given to user '_apt' in the clone and to user 'dave' on the booted system"},
		{"uid changed to one a new name took", "passwd", basePasswd,
			text("root:x:0:0:root:/root:/bin/bash",
				"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
				"bob:x:1000:1000:Bob:/home/bob:/bin/bash",
				"carol:x:1005:1001:Carol:/home/carol:/bin/bash"),
			append(append([]byte{}, basePasswd...), "dave:x:1005:1002::/home/dave:/bin/sh\n"...),
			nil, "uid 1005 given to user 'carol' in the clone and to user 'dave' on the booted system"},
		{"gid given to two new names", "group", baseGroup,
			append(append([]byte{}, baseGroup...), "_ssh:x:101:\n"...),
			append(append([]byte{}, baseGroup...), "web:x:101:\n"...),
			nil, "gid 101 given to group '_ssh' in the clone and to group 'web' on the booted system"},
		{"members changed on both sides", "group", baseGroup,
			text("root:x:0:", "sudo:x:27:bob,alice", "users:x:100:carol", "bob:x:1000:", "_ssh:x:101:"),
			text("root:x:0:", "sudo:x:27:bob,dave", "users:x:100:bob,carol,dave", "bob:x:1000:", "dave:x:1002:"),
			text("root:x:0:", "sudo:x:27:bob,alice,dave", "users:x:100:carol,dave", "bob:x:1000:", "_ssh:x:101:", "dave:x:1002:"), ""},
		{"members and gid changed", "group", baseGroup,
			text("root:x:0:", "sudo:x:28:bob,alice", "users:x:100:bob,carol", "bob:x:1000:"),
			text("root:x:0:", "sudo:x:27:bob,dave", "users:x:100:bob,carol", "bob:x:1000:"),
			nil, "group 'sudo' changed on both sides with different entries"},
		{"gshadow admins and members", "gshadow",
			text("sudo:!:bob:bob"),
			text("sudo:!:bob,alice:bob,alice"),
			text("sudo:!::bob,dave"),
			text("sudo:!:alice:bob,alice,dave"), ""},
		{"shadow: password changed on each side", "shadow",
			text("bob:$y$old:19000:0:99999:7:::"),
			text("bob:$y$clone:19100:0:99999:7:::"),
			text("bob:$y$booted:19101:0:99999:7:::"),
			nil, "user 'bob' changed on both sides with different entries"},
		{"subuid by whole lines", "subuid",
			text("bob:100000:65536"),
			text("bob:100000:65536", "_build:165536:65536"),
			text("bob:100000:65536", "carol:231072:65536"),
			text("bob:100000:65536", "_build:165536:65536", "carol:231072:65536"), ""},
		{"subgid changed line", "subgid",
			text("bob:100000:65536", "carol:165536:65536"),
			text("bob:100000:65536"),
			text("bob:100000:65536", "carol:165536:65536", "dave:231072:65536"),
			text("bob:100000:65536", "dave:231072:65536"), ""},
		{"comments and blank lines as lines", "group",
			text("# site", "", "users:x:100:", ""),
			text("# site", "", "users:x:100:", "", "a:x:5:"),
			text("# site", "# more", "", "users:x:100:"),
			text("# site", "", "users:x:100:", "a:x:5:", "# more"), ""},
		{"a name listed twice", "group",
			text("users:x:100:"),
			text("users:x:100:", "a:x:5:"),
			text("users:x:100:", "users:x:100:b"),
			nil, "group 'users' is listed twice on the booted system"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Accounts(tt.file, tt.base, tt.clone, tt.booted)
			if tt.conflict != "" {
				var c *Conflict
				if !errors.As(err, &c) || c.Reason != tt.conflict {
					t.Fatalf("Accounts = %q, %v; want conflict %q", got, err, tt.conflict)
				}
				return
			}
			if err != nil || string(got) != string(tt.want) {
				t.Fatalf("Accounts =\n%s%v\nwant\n%s", got, err, tt.want)
			}
		})
	}
}

func TestAccountsUnknownFile(t *testing.T) {
	_, err := Accounts("hosts", nil, nil, nil)
	var c *Conflict
	if err == nil || errors.As(err, &c) {
		t.Fatalf("Accounts(hosts) = %v; want an error that is no conflict", err)
	}
}

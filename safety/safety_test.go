package safety

import (
	"strings"
	"testing"
)

func TestCheckCommand(t *testing.T) {
	for _, tc := range []struct {
		argv    []string
		wantErr string // "" for accepted
	}{
		{[]string{"apt-get", "install", "-y", "nginx-light"}, ""},
		{[]string{"/usr/bin/dpkg", "-i", "/srv/x.deb"}, ""},
		{[]string{"update-initramfs", "-u", "-k", "all"}, ""},
		{[]string{"systemctl", "enable", "nginx"}, ""},
		{[]string{"systemctl", "--no-reload", "disable", "nginx"}, ""},
		{[]string{"systemctl", "restart", "nginx"}, "systemctl restart is not DRD-safe"},
		{[]string{"systemctl"}, "without a subcommand"},
		{[]string{"bash", "-c", "rm -rf /"}, "bash is not a DRD-safe command"},
		{[]string{"kill", "1"}, "kill is not a DRD-safe command"},
		{nil, "no command given"},
	} {
		err := CheckCommand(tc.argv)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%q: %v, want accepted", tc.argv, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%q: error %v, want one saying %q", tc.argv, err, tc.wantErr)
		}
	}
}

func TestParseControl(t *testing.T) {
	f := ParseControl("Package: hello\nVersion: 1.0-1\nDescription: greets\n more text\nX-DRD-Safe: yes\n\nPackage: other\n")
	want := map[string]string{"Package": "hello", "Version": "1.0-1", "Description": "greets\nmore text", "X-DRD-Safe": "yes"}
	if len(f) != len(want) {
		t.Errorf("fields %q, want %q", f, want)
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %q, want %q", k, f[k], v)
		}
	}
}

func TestParseUnsafeList(t *testing.T) {
	l, err := ParseUnsafeList("# known bad\nfirmware-flasher   # flashes the BMC\nlegacy=1.2-3\n\n")
	if err != nil {
		t.Fatal(err)
	}
	if why, ok := l.lookup("firmware-flasher", "9"); !ok || !strings.Contains(why, "flashes the BMC") {
		t.Errorf("firmware-flasher: %q %v", why, ok)
	}
	if _, ok := l.lookup("legacy", "1.2-4"); ok {
		t.Error("legacy 1.2-4 listed; only 1.2-3 is")
	}
	if _, ok := l.lookup("legacy", "1.2-3"); !ok {
		t.Error("legacy 1.2-3 not listed")
	}
	if _, err := ParseUnsafeList("two words\n"); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("two words: %v, want an error naming line 1", err)
	}
}

func TestJudge(t *testing.T) {
	debhelper := "#!/bin/sh\nset -e\n# Automatically added by dh_installsystemd/13.11\nif [ -d /run/systemd/system ]; then\n\tsystemctl --system daemon-reload >/dev/null || true\n\tdeb-systemd-invoke start nginx.service\nfi\n# End automatically added section\n"
	unsafe := UnsafeList{"bmc-flash": {{Reason: "flashes the BMC"}}}
	for _, tc := range []struct {
		name    string
		pkg     Package
		want    Level
		reasons []string // substrings, in order
	}{
		{"plain", Package{Name: "a", Scripts: map[string]string{"postinst": "#!/bin/sh\nldconfig\n"}}, Safe, nil},
		{"debhelper sections", Package{Name: "nginx", Scripts: map[string]string{"postinst": debhelper}}, Safe, nil},
		{"says yes", Package{Name: "a", Fields: map[string]string{"X-DRD-Safe": "yes"}, Scripts: map[string]string{"postinst": "killall a\n"}}, Safe, []string{"X-DRD-Safe: yes"}},
		{"says no", Package{Name: "a", Fields: map[string]string{"x-drd-safe": "No"}}, Unsafe, []string{"X-DRD-Safe: no"}},
		{"listed", Package{Name: "bmc-flash", Fields: map[string]string{"X-DRD-Safe": "yes"}}, Unsafe, []string{"flashes the BMC"}},
		{"kills", Package{Name: "a", Scripts: map[string]string{"postinst": "#!/bin/sh\n# kill it\nif pidof x; then killall -HUP x; fi\n"}}, Risky, []string{"postinst line 3: if pidof x; then killall -HUP x; fi: illegal kill"}},
		{"restarts", Package{Name: "a", Scripts: map[string]string{"postinst": "systemctl restart ssh\n", "prerm": "/etc/init.d/ssh stop || true\n"}}, Risky, []string{"postinst line 1: systemctl restart ssh: illegal restart", "prerm line 1: /etc/init.d/ssh stop || true: illegal restart"}},
		{"many", Package{Name: "a", Scripts: map[string]string{"postinst": "modprobe dummy\nsysctl -w vm.swappiness=1\nhostname evil\ndate -s 2001-01-01\nip link add d0 type dummy\niptables -A INPUT -j DROP\n"}}, Risky,
			[]string{"kernel module", "kernel parameters", "host name", "clock", "network", "network"}},
		{"harmless words", Package{Name: "a", Scripts: map[string]string{"postinst": "echo 'do not kill me'\nupdate-rc.d x defaults\nuseradd -r nginx\nhostname -f >/dev/null\n"}}, Safe, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Judge(&tc.pkg, unsafe)
			if v.Level != tc.want {
				t.Errorf("level %s, want %s: %s", v.Level, tc.want, v)
			}
			if len(v.Reasons) != len(tc.reasons) {
				t.Fatalf("reasons %q, want %d like %q", v.Reasons, len(tc.reasons), tc.reasons)
			}
			for i, r := range tc.reasons {
				if !strings.Contains(v.Reasons[i], r) {
					t.Errorf("reason %d %q, want it to say %q", i, v.Reasons[i], r)
				}
			}
		})
	}
}

package safety

import (
	"os"
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
		{[]string{"kernel-install", "add", "6.1.0", "/boot/vmlinuz-6.1.0"}, ""},
		{[]string{"debconf-set-selections", "/srv/sel"}, ""},
		{[]string{"systemctl", "enable", "nginx"}, ""},
		{[]string{"systemctl", "--no-reload", "disable", "nginx"}, ""},
		{[]string{"systemctl", "preset", "nginx"}, ""},
		{[]string{"systemctl", "restart", "nginx"}, "systemctl restart is not DRD-safe"},
		{[]string{"systemctl", "set-default", "rescue.target"}, "systemctl set-default is not DRD-safe"},
		{[]string{"systemctl"}, "without a subcommand"},
		{[]string{"bash", "-c", "rm -rf /"}, "bash is not a DRD-safe command"},
		{[]string{"apt-cache", "policy"}, "apt-cache is not a DRD-safe command"},
		{[]string{"kill", "1"}, "allow_unsafe=true runs it anyway"},
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
	l, err := ParseUnsafeList("# known bad\nfirmware-flasher   flashes the BMC\nlegacy=1.2-3 # old syntax\n\n\tspaced\tleading blanks\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, version string
		listed        bool
		reason        string
	}{
		{"firmware-flasher", "9", true, "listed in /etc/drd/unsafe.list: flashes the BMC"},
		{"legacy", "1.2-3", true, "listed in /etc/drd/unsafe.list: old syntax"},
		{"legacy", "1.2-4", false, ""},
		{"spaced", "1", true, "leading blanks"},
		{"other", "1", false, ""},
	} {
		why, ok := l.lookup(tc.name, tc.version)
		if ok != tc.listed || !strings.Contains(why, tc.reason) || tc.reason == "" && why != "" {
			t.Errorf("%s=%s: %q %v, want %v %q", tc.name, tc.version, why, ok, tc.listed, tc.reason)
		}
	}
	if _, err := ParseUnsafeList("=1.0 no name\n"); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a line without a name: %v, want an error naming line 1", err)
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
		rules   []string // rules of all findings, in order
	}{
		{"plain", Package{Name: "a", Scripts: map[string]string{"postinst": "#!/bin/sh\nldconfig\n"}}, Safe, nil, nil},
		{"debhelper sections", Package{Name: "nginx", Scripts: map[string]string{"postinst": debhelper}}, Neutralized,
			[]string{"postinst line 5: systemctl --system daemon-reload >/dev/null || true: starts, stops or restarts a daemon (rule service-control)", "postinst line 6"},
			[]string{"service-control", "service-control"}},
		{"says yes", Package{Name: "a", Fields: map[string]string{"X-DRD-Safe": "yes"}, Scripts: map[string]string{"postinst": "efibootmgr -o 0001\n"}}, Safe,
			[]string{"X-DRD-Safe: yes"}, []string{"efi-variables"}},
		{"says no", Package{Name: "a", Fields: map[string]string{"x-drd-safe": "No"}}, Unsafe, []string{"X-DRD-Safe: no"}, nil},
		{"listed", Package{Name: "bmc-flash", Fields: map[string]string{"X-DRD-Safe": "yes"}}, Unsafe, []string{"flashes the BMC"}, nil},
		{"worst line wins", Package{Name: "a", Scripts: map[string]string{"postinst": "killall -HUP x\nflashrom -w /lib/bios.rom\n", "prerm": "/etc/init.d/ssh stop || true\n"}}, Unsafe,
			[]string{"postinst line 2: flashrom -w /lib/bios.rom: flashes firmware (rule firmware-flash)"}, []string{"kill", "firmware-flash", "service-control"}},
		{"continued line", Package{Name: "a", Scripts: map[string]string{"postinst": "true\n/usr/sbin/grub-install \\\n  --force /dev/sda\n"}}, Unsafe,
			[]string{"postinst line 2: /usr/sbin/grub-install    --force /dev/sda"}, []string{"boot-record"}},
		{"harmless words", Package{Name: "a", Scripts: map[string]string{"postinst": "echo 'do not kill me'\nupdate-rc.d x defaults\nuseradd -r nginx\nhostname -f >/dev/null\n"}}, Safe, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Judge(&tc.pkg, unsafe)
			if v.Level != tc.want {
				t.Errorf("level %s, want %s: %s", v.Level, tc.want, v)
			}
			rs := v.Reasons()
			if len(rs) != len(tc.reasons) {
				t.Fatalf("reasons %q, want %d like %q", rs, len(tc.reasons), tc.reasons)
			}
			for i, r := range tc.reasons {
				if !strings.Contains(rs[i], r) {
					t.Errorf("reason %d %q, want it to say %q", i, rs[i], r)
				}
			}
			var rules []string
			for _, f := range v.Findings {
				rules = append(rules, f.Rule)
			}
			if strings.Join(rules, " ") != strings.Join(tc.rules, " ") {
				t.Errorf("findings under %q, want %q", rules, tc.rules)
			}
		})
	}
}

// TestParseRPMScripts reads the output of rpm -qp --scripts (an nginx
// package of Fedora, with a line added).
func TestParseRPMScripts(t *testing.T) {
	out, err := os.ReadFile("testdata/rpm-scripts.txt")
	if err != nil {
		t.Fatal(err)
	}
	s := ParseRPMScripts(string(out))
	for _, tc := range []struct{ name, first, last string }{
		{"preinstall", "getent group nginx", "exit 0"},
		{"postinstall", "", "efibootmgr -o 0001,0000"},
		{"preuninstall", "", "fi"},
		{"postuninstall", "/sbin/ldconfig", "/sbin/ldconfig"},
		{"posttrans", "if posix.access", "if posix.access"},
	} {
		lines := strings.Split(strings.TrimSuffix(s[tc.name], "\n"), "\n")
		if !strings.HasPrefix(lines[0], tc.first) || !strings.HasPrefix(lines[len(lines)-1], tc.last) {
			t.Errorf("%s: %q, want it from %q to %q", tc.name, s[tc.name], tc.first, tc.last)
		}
	}
	if len(s) != 5 {
		t.Errorf("%d scriptlets, want 5: %q", len(s), s)
	}
	v := Judge(&Package{Name: "nginx", Version: "1:1.24.0-1.fc39", Scripts: s}, nil)
	if v.Level != Unsafe || len(v.Reasons()) != 1 || !strings.Contains(v.Reasons()[0], "postinstall line 6: efibootmgr") {
		t.Errorf("verdict %s", v)
	}
}

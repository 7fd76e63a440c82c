package safety

import "testing"

// TestRuleLevels: the rules that touch what the booted system and the
// image share (firmware, EFI variables, boot records, the booted system's
// daemons) refuse a package; the others are made harmless by the runcmd
// environment. Written out here, not taken from Rules.
func TestRuleLevels(t *testing.T) {
	want := map[string]Level{
		"firmware-flash": Unsafe, "efi-variables": Unsafe, "boot-record": Unsafe, "daemon-request": Unsafe,
		"boot-loader": Neutralized, "service-control": Neutralized, "kill": Neutralized, "kernel-module": Neutralized,
		"kernel-parameter": Neutralized, "hostname": Neutralized, "clock": Neutralized, "network": Neutralized,
		"reboot": Neutralized, "mount": Neutralized, "daemon-socket": Neutralized, "background": Neutralized,
	}
	seen := map[string]bool{}
	for _, r := range Rules {
		seen[r.Name] = true
		if w, ok := want[r.Name]; !ok || r.Level != w {
			t.Errorf("rule %s is %s, want %q", r.Name, r.Level, w)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("no rule %s", name)
		}
	}
}

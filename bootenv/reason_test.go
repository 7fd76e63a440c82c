package bootenv

import (
	"strings"
	"testing"
)

// TestSettleState: every broken image gets a reason that says why and
// what to run, also when its record names none (the record of a clone
// that failed, or of a root without image.json); a clone or runcmd that
// died while no drd runs is broken.
func TestSettleState(t *testing.T) {
	tests := []struct {
		name  string
		img   Image
		held  bool
		state State
		want  []string // in the reason
	}{
		{"failed clone", Image{Record: Record{Name: "sysimage_001", Target: "/srv/c.img", State: Broken,
			History: []Event{{Action: "clone", Result: "started"}, {Action: "clone", Result: "failed", Detail: "no space left on device"}}}},
			false, Broken, []string{"no space left on device", "drd clone -t /srv/c.img -x overwrite=true"}},
		{"no record", Image{Record: Record{Name: "unknown", State: Broken,
			History: []Event{{Action: "scan", Result: "failed", Detail: "no " + RecordPath + " in its root file system"}}}, Disk: "/dev/vdb"},
			false, Broken, []string{"no " + RecordPath, "drd clone -t /dev/vdb -x overwrite=true"}},
		{"interrupted runcmd", Image{Record: Record{Name: "sysimage_001", Target: "/dev/vdb", State: Broken,
			History: []Event{{Action: "runcmd", Result: "failed", Detail: "apt-get install -y foo"}}}},
			false, Broken, []string{"drd runcmd apt-get install -y foo failed", "run the command again"}},
		{"no history", Image{Record: Record{Name: "sysimage_001", Target: "/dev/vdb", State: Broken}},
			false, Broken, []string{"no reason recorded", "drd clone -t /dev/vdb -x overwrite=true"}},
		{"own reason kept", Image{Record: Record{Name: "sysimage_001", State: Broken, Reason: "the disk caught fire"}},
			false, Broken, []string{"the disk caught fire"}},
		{"died clone", Image{Record: Record{Name: "sysimage_001", Target: "/dev/vdb", State: Cloning}},
			false, Broken, []string{"interrupted", "drd clone -t /dev/vdb -x overwrite=true"}},
		{"clone under way", Image{Record: Record{Name: "sysimage_001", Target: "/dev/vdb", State: Cloning}},
			true, Cloning, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := tt.img
			settleState(&img, tt.held)
			if img.State != tt.state {
				t.Errorf("state %s, want %s", img.State, tt.state)
			}
			if tt.want == nil && img.Reason != "" {
				t.Errorf("reason %q, want none", img.Reason)
			}
			for _, w := range tt.want {
				if !strings.Contains(img.Reason, w) {
					t.Errorf("reason %q does not say %q", img.Reason, w)
				}
			}
		})
	}
}

func TestNameOnDevice(t *testing.T) {
	for _, tt := range []struct {
		id   DevID
		want string
	}{
		{DevID{PartLabel: "drd-sysimage_001-root"}, "sysimage_001"},
		{DevID{PartLabel: "drd-sysimage_012-boot_efi"}, "sysimage_012"},
		{DevID{Label: "drd002-root"}, "sysimage_002"},
		{DevID{Label: "DRD003-ESP"}, "sysimage_003"},
		{DevID{Label: "drd1-root"}, ""},
		{DevID{Label: "data", PartLabel: "primary"}, ""},
		{DevID{PartLabel: "drd-sysimage_01-root"}, ""},
	} {
		if got := NameOnDevice(tt.id); got != tt.want {
			t.Errorf("NameOnDevice(%+v) = %q, want %q", tt.id, got, tt.want)
		}
	}
	taken := map[string]bool{}
	for n := 0; n < MaxImages; n++ {
		taken[ImageName(n)] = true
	}
	if name, err := FreeName(taken); err == nil || !strings.Contains(err.Error(), "drd delete") {
		t.Errorf("FreeName with every name taken = %q, %v; want an error saying what to do", name, err)
	}
}

package bootenv

import (
	"reflect"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv/grub"
)

func TestParseSwitch(t *testing.T) {
	for in, want := range map[string]Switch{
		"": SwitchNone, "false": SwitchNone, "true": SwitchFirmware, "firmware": SwitchFirmware,
		"kexec": SwitchKexec, "soft": SwitchSoft, "auto": SwitchAuto, "AUTO": SwitchAuto,
	} {
		got, err := ParseSwitch(in)
		if err != nil || got != want {
			t.Errorf("ParseSwitch(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseSwitch("warp"); err == nil || !strings.Contains(err.Error(), "kexec, soft or auto") {
		t.Errorf("ParseSwitch(warp) = %v; want an error naming the choices", err)
	}
}

func TestPlanKexec(t *testing.T) {
	mi := grub.MenuImage{Name: "sysimage_001", BootPrefix: "/boot", Kernel: "vmlinuz-6.1.0-28-amd64", Initrd: "initrd.img-6.1.0-28-amd64",
		Cmdline: "root=UUID=1234-abcd console=ttyS0"}
	p, err := PlanKexec(mi, true, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := KexecPlan{Image: "sysimage_001", Kernel: "/boot/vmlinuz-6.1.0-28-amd64", Initrd: "/boot/initrd.img-6.1.0-28-amd64",
		Cmdline: "root=UUID=1234-abcd console=ttyS0 panic=10 drd.trial=sysimage_001"}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("trial plan = %+v\nwant %+v", p, want)
	}
	if TrialFromCmdline(p.Cmdline) != "sysimage_001" {
		t.Errorf("the boot check does not find the trial in %q", p.Cmdline)
	}
	p, err = PlanKexec(mi, false, 10, 0)
	if err != nil || p.Cmdline != mi.Cmdline {
		t.Errorf("lasting plan cmdline = %q, %v; want %q", p.Cmdline, err, mi.Cmdline)
	}
	mi.Initrd, mi.BootPrefix = "", ""
	if p, _ = PlanKexec(mi, false, 10, 0); p.Initrd != "" || p.Kernel != "/vmlinuz-6.1.0-28-amd64" {
		t.Errorf("own /boot, no initramfs: plan %+v", p)
	}
	for _, bad := range []grub.MenuImage{
		{Name: "sysimage_001", Kernel: "../vmlinuz", Cmdline: "root=x"},
		{Name: "sysimage_001", Kernel: "vmlinuz", Initrd: "a/b", Cmdline: "root=x"},
		{Name: "sysimage_001", Kernel: "vmlinuz", Cmdline: "quiet"},
	} {
		if _, err := PlanKexec(bad, false, 10, 0); err == nil {
			t.Errorf("PlanKexec(%+v) accepted", bad)
		}
	}
	if _, err := PlanKexec(grub.MenuImage{Name: "sysimage_001", Kernel: "vmlinuz", Cmdline: "root=x"}, true, 0, 0); err == nil {
		t.Error("a trial without panic= accepted")
	}
}

func TestTrialFromCmdline(t *testing.T) {
	for in, want := range map[string]string{
		"":                                   "",
		"root=UUID=x quiet":                  "",
		"root=UUID=x drd.trial=sysimage_002": "sysimage_002",
		"drd.trial=sysimage_001 drd.trial=sysimage_002": "sysimage_002",
		"drd.trial=../etc":        "",
		"drd.trial":               "",
		"xdrd.trial=sysimage_001": "",
	} {
		if got := TrialFromCmdline(in); got != want {
			t.Errorf("TrialFromCmdline(%q) = %q; want %q", in, got, want)
		}
	}
}

func FuzzTrialFromCmdline(f *testing.F) {
	for _, s := range []string{"root=UUID=x drd.trial=sysimage_001", "drd.trial=", "drd.trial=sysimage_001\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n := TrialFromCmdline(s); n != "" && !grub.ImageNameRE().MatchString(n) {
			t.Fatalf("TrialFromCmdline(%q) = %q: no image name", s, n)
		}
	})
}

func TestChooseSwitch(t *testing.T) {
	same := SwitchFacts{
		RunningKernel: "vmlinuz-6.12", RunningInitrd: "initrd.img-6.12", RunningCmdline: "BOOT_IMAGE=/vmlinuz-6.12 root=UUID=a ro",
		TargetKernel: "vmlinuz-6.12", TargetInitrd: "initrd.img-6.12", TargetCmdline: "root=UUID=a ro",
		Systemd: 257, KexecFileLoad: true, KexecLoadDisabledKnown: true,
	}
	with := func(ch func(*SwitchFacts)) SwitchFacts { f := same; ch(&f); return f }
	deb12 := with(func(f *SwitchFacts) { f.Systemd = 252 })
	newKernel := with(func(f *SwitchFacts) { f.TargetKernel = "vmlinuz-6.13" })
	otherRoot := with(func(f *SwitchFacts) { f.TargetCmdline = "root=UUID=b ro" })
	otherArgs := with(func(f *SwitchFacts) { f.TargetCmdline = "root=UUID=b ro mitigations=off" })
	noNextRoot := with(func(f *SwitchFacts) { f.NoNextRoot = "drd does not prepare /run/nextroot yet" })
	otherInitrd := with(func(f *SwitchFacts) { f.TargetInitrd = "initrd.img-6.12.new" })
	disabled := with(func(f *SwitchFacts) { f.Systemd = 252; f.KexecLoadDisabled = true })
	noFile := with(func(f *SwitchFacts) { f.Systemd = 252; f.KexecFileLoad = false })
	unknown := with(func(f *SwitchFacts) { f.Systemd = 252; f.KexecLoadDisabledKnown = false })
	for _, c := range []struct {
		name    string
		want    Switch
		f       SwitchFacts
		got     Switch
		refused []string // substrings, one per refusal
		err     string
	}{
		{"auto soft", SwitchAuto, same, SwitchSoft, nil, ""},
		{"auto debian 12", SwitchAuto, deb12, SwitchKexec, []string{"systemd 252 < 254: soft-reboot needs 254"}, ""},
		{"auto new kernel", SwitchAuto, newKernel, SwitchKexec, []string{"kernel vmlinuz-6.13 is not the running"}, ""},
		{"auto other root (a clone)", SwitchAuto, otherRoot, SwitchSoft, nil, ""},
		{"auto other arguments", SwitchAuto, otherArgs, SwitchKexec, []string{"command line"}, ""},
		{"auto no nextroot", SwitchAuto, noNextRoot, SwitchKexec, []string{"does not prepare /run/nextroot"}, ""},
		{"auto other initramfs", SwitchAuto, otherInitrd, SwitchKexec, []string{"initramfs"}, ""},
		{"auto kexec disabled", SwitchAuto, disabled, SwitchFirmware, []string{"systemd 252", "kernel.kexec_load_disabled=1"}, ""},
		{"auto no kexec_file_load", SwitchAuto, noFile, SwitchFirmware, []string{"systemd 252", "kexec_file_load"}, ""},
		{"auto sysctl unread", SwitchAuto, unknown, SwitchFirmware, []string{"systemd 252", "could not be read"}, ""},
		{"soft refused on 252", SwitchSoft, deb12, "", nil, "cannot soft-reboot: systemd 252 < 254"},
		{"soft refused, systemd unknown", SwitchSoft, with(func(f *SwitchFacts) { f.Systemd = 0 }), "", nil, "unknown"},
		{"soft", SwitchSoft, same, SwitchSoft, nil, ""},
		{"kexec", SwitchKexec, newKernel, SwitchKexec, nil, ""},
		{"kexec refused", SwitchKexec, disabled, "", nil, "cannot kexec: kernel.kexec_load_disabled=1"},
		{"firmware always", SwitchFirmware, disabled, SwitchFirmware, nil, ""},
		{"none", SwitchNone, same, SwitchNone, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ChooseSwitch(c.want, c.f)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v; want one with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Switch != c.got || got.Why == "" {
				t.Errorf("switch = %q (%q); want %q with a reason", got.Switch, got.Why, c.got)
			}
			if len(got.Refused) != len(c.refused) {
				t.Fatalf("refused = %q; want %d", got.Refused, len(c.refused))
			}
			for i, s := range c.refused {
				if !strings.Contains(got.Refused[i], s) {
					t.Errorf("refusal %d = %q; want %q in it", i, got.Refused[i], s)
				}
			}
		})
	}
}

func TestParseSystemdVersion(t *testing.T) {
	for in, want := range map[string]int{
		"systemd 252 (252.30-1~deb12u2)\n+PAM +AUDIT": 252,
		"systemd 257 (257.7-1)":                       257,
	} {
		if got, err := ParseSystemdVersion(in); err != nil || got != want {
			t.Errorf("ParseSystemdVersion(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "udev 252", "systemd", "systemd 25x", "systemd 99999999999999999999"} {
		if _, err := ParseSystemdVersion(bad); err == nil {
			t.Errorf("ParseSystemdVersion(%q) accepted", bad)
		}
	}
}

func FuzzParseSystemdVersion(f *testing.F) {
	f.Add("systemd 252 (252.30-1~deb12u2)")
	f.Add("systemd 2x")
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseSystemdVersion(s); err == nil && (n < 0 || n > 1e7) {
			t.Fatalf("ParseSystemdVersion(%q) = %d", s, n)
		}
	})
}

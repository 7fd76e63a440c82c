package grub

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drd-linux/drd/internal/golden"
)

func testMenu() Menu {
	return Menu{Self: "sysimage_000", Panic: 10, TrialArgs: "modules_load=softdog softdog.soft_active_on_boot=1 softdog.soft_margin=900", Images: []MenuImage{
		{Name: "sysimage_000", Title: "Debian GNU/Linux 12, sysimage_000 (drd)", BootUUID: "0b1c6f1e-1111-4111-8111-111111111111",
			Kernel: "vmlinuz-6.1.0-28-amd64", Initrd: "initrd.img-6.1.0-28-amd64",
			Cmdline: "root=UUID=2a2a2a2a-2222-4222-8222-222222222222 ro console=ttyS0,115200"},
		{Name: "sysimage_001", Title: "Debian GNU/Linux 12, sysimage_001 (drd)", BootUUID: "c3c3c3c3-3333-4333-8333-333333333333", BootPrefix: "/boot",
			Kernel: "vmlinuz-6.1.0-30-amd64", Initrd: "initrd.img-6.1.0-30-amd64", TrialInitrd: "trial-watchdog-6.1.0-30-amd64.cpio",
			Cmdline: "root=UUID=d4d4d4d4-4444-4444-8444-444444444444 ro console=ttyS0,115200"},
	}}
}

func TestMenuGolden(t *testing.T) {
	b, err := testMenu().Encode()
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/grub/drd.cfg", b)
	s := string(b)
	// The counter goes down by one from every value to 0, and only a
	// saved decrement boots the trial image.
	for n := MaxTries; n >= 1; n-- {
		if !strings.Contains(s, "\"$drd_best_tries\" = "+itoa(n)+" ]; then\n\t\t\tset drd_tries="+itoa(n-1)+"\n") {
			t.Errorf("no step from %d to %d", n, n-1)
		}
	}
	if !strings.Contains(s, "if save_env --file \"$drd_best\" drd_tries; then\n\t\t\t\tset drd_boot=\"$drd_best_trial\"") {
		t.Error("the trial image is chosen without a saved decrement")
	}
	// An image whose /boot is not found never boots: neither chosen nor
	// with another image's /boot as its root.
	for _, name := range []string{"sysimage_000", "sysimage_001"} {
		if !strings.Contains(s, "\tif [ \"$drd_boot\" = "+name+" ]; then\n\t\tif [ -z \"$drd_found_"+name+"\" ]; then\n\t\t\tset drd_boot=\"$drd_self\"") {
			t.Errorf("no guard against booting %s when its disk is gone", name)
		}
	}
	if strings.Count(s, "\t\tif search --no-floppy --fs-uuid --set=root ") != 2 {
		t.Error("a menu entry loads a kernel without finding its own /boot")
	}
	for _, cmd := range grubCommands(s) {
		switch cmd {
		case "insmod", "set", "if", "elif", "else", "fi", "then", "search", "load_env", "save_env", "export",
			"menuentry", "linux", "initrd", "echo", "}", "[":
		default:
			t.Errorf("drd.cfg uses %q, not in drd's list of stock GRUB commands", cmd)
		}
	}
}

// TestMenuRecoveryGolden: the STAGEISL entry boots the files of the
// menu's own /boot, with its hotkey, after (outside) drd's choice of
// image, so it is there whatever boots and when no image has a block.
func TestMenuRecoveryGolden(t *testing.T) {
	m := testMenu()
	m.Self = "sysimage_001"
	m.Recovery = &MenuRecovery{BootUUID: m.Images[1].BootUUID, BootPrefix: "/boot", Cmdline: "console=tty0 console=ttyS0,115200"}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/grub/drd-isl.cfg", b)
	s := string(b)
	entry := "menuentry '" + RecoveryTitle + "' --id " + RecoveryMenuID + " --hotkey=" + RecoveryHotkey + " {"
	i := strings.Index(s, entry)
	if i < 0 || !strings.HasSuffix(s[:i], "\nfi\n\n# STAGEISL, drd's recovery utility (drd isl install): whatever boots.\n") {
		t.Errorf("no STAGEISL entry after drd's choice of image:\n%s", s)
	}
	if !strings.Contains(s[i:], "linux /boot/drd/vmlinuz console=tty0 console=ttyS0,115200\n") ||
		!strings.Contains(s[i:], "initrd /boot/drd/drd-isl.img /boot/drd/modules.img\n") {
		t.Errorf("the STAGEISL entry does not boot /boot/drd's kernel, ISL and modules:\n%s", s[i:])
	}
	checkGrubScript(t, b)
	m.Recovery.Cmdline = "console=ttyS0 'x'"
	if _, err := m.Encode(); err == nil {
		t.Error("a quote in STAGEISL's command line was taken")
	}
}

// checkGrubScript runs GRUB's own syntax check on a script, where the
// machine has it.
func checkGrubScript(t *testing.T, script []byte) {
	t.Helper()
	if _, err := exec.LookPath("grub-script-check"); err != nil {
		t.Log("no grub-script-check: syntax not checked")
		return
	}
	p := filepath.Join(t.TempDir(), "drd.cfg")
	if err := os.WriteFile(p, script, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("grub-script-check", p).CombinedOutput(); err != nil {
		t.Errorf("grub-script-check: %v\n%s", err, out)
	}
}

func itoa(n int) string { return string(rune('0' + n)) }

// grubCommands lists the first word of every line of a GRUB script.
func grubCommands(s string) []string {
	var cmds []string
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		cmds = append(cmds, f[0])
	}
	return cmds
}

func TestMenuRefuses(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*Menu)
		err  string
	}{
		{"no self", func(m *Menu) { m.Self = "sysimage_002" }, "does not list"},
		{"bad uuid", func(m *Menu) { m.Images[1].BootUUID = "x; reboot" }, "UUID"},
		{"kernel path", func(m *Menu) { m.Images[0].Kernel = "../vmlinuz" }, "kernel"},
		{"no root", func(m *Menu) { m.Images[0].Cmdline = "ro quiet" }, "root="},
		{"quote", func(m *Menu) { m.Images[0].Cmdline = "root=UUID=x ro 'a'" }, "quotes"},
		{"variable", func(m *Menu) { m.Images[0].Cmdline = "root=UUID=x $x" }, "quotes"},
		{"title", func(m *Menu) { m.Images[0].Title = "it's" }, "title"},
		{"no panic", func(m *Menu) { m.Panic = 0 }, "panic"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := testMenu()
			tt.edit(&m)
			if _, err := m.Encode(); err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestInsertHook(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata/grub", "debian.grub.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	out := InsertHook(in)
	golden.Check(t, "testdata/grub/debian.grub.cfg.hooked", out)
	if again := InsertHook(out); string(again) != string(out) {
		t.Error("a second InsertHook changed grub.cfg again")
	}
	bare := InsertHook([]byte("menuentry x {\n}\n"))
	if !strings.HasPrefix(string(bare), grubDBegin) {
		t.Errorf("grub.cfg without 00_header: hook not at the top:\n%s", bare)
	}
}

// TestGrubDScript runs /etc/grub.d/05_drd as grub-mkconfig would and
// checks that its output is what InsertHook puts into grub.cfg.
func TestGrubDScript(t *testing.T) {
	p := filepath.Join(t.TempDir(), "05_drd")
	if err := os.WriteFile(p, []byte(GrubDScript), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := runProgram(p)
	if err != nil {
		t.Fatal(err)
	}
	if out != hookBody {
		t.Errorf("05_drd prints:\n%s\nwant:\n%s", out, hookBody)
	}
}

func TestReplaceUUIDs(t *testing.T) {
	renames := map[string]string{
		"0b1c6f1e-1111-4111-8111-111111111111": "c3c3c3c3-3333-4333-8333-333333333333",
		"ABCD-1234":                            "DD01-0001",
	}
	for _, tt := range []struct{ in, want string }{
		{"search --fs-uuid --set=root 0b1c6f1e-1111-4111-8111-111111111111", "search --fs-uuid --set=root c3c3c3c3-3333-4333-8333-333333333333"},
		{"root=UUID=0B1C6F1E-1111-4111-8111-111111111111 ro", "root=UUID=c3c3c3c3-3333-4333-8333-333333333333 ro"},
		{"a abcd-1234 abcd-1234\n", "a DD01-0001 DD01-0001\n"},
		{"x0b1c6f1e-1111-4111-8111-111111111111", "x0b1c6f1e-1111-4111-8111-111111111111"},
		{"abcd-12345", "abcd-12345"},
	} {
		got, n := ReplaceUUIDs([]byte(tt.in), renames)
		if string(got) != tt.want || (n > 0) != (tt.in != tt.want) {
			t.Errorf("ReplaceUUIDs(%q) = %q, %d replaced; want %q", tt.in, got, n, tt.want)
		}
	}
}

func runProgram(p string) (string, error) {
	out, err := exec.Command(p).Output()
	return string(out), err
}

package bootenv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv/efi"
	"github.com/drd-linux/drd/bootenv/grub"
)

const (
	uuid1 = "5f1c0de2-7a1e-4c3b-9d2e-1a2b3c4d5e6f"
	uuid2 = "0a0b0c0d-1111-2222-3333-444455556666"
)

// bootedImage is the image at m.Root, as a scan sees it; another image
// of the Status, on a disk this machine does not have, cannot be
// reached (its disk is missing).
func bootedImage(name string, state State) *Image {
	return &Image{Booted: true, Record: Record{Name: name, ID: "id-" + name, System: "sys-1", State: state,
		FileSystems: []FileSystem{{MountPoint: "/", Type: "ext4", UUID: uuid1}}}}
}

func missingImage(name string, state State) *Image {
	return &Image{Disk: "/dev/drdunit9", Record: Record{Name: name, ID: "id-" + name, System: "sys-1", State: state,
		FileSystems: []FileSystem{{MountPoint: "/", Type: "ext4", UUID: uuid2}}}}
}

// WriteBootConfig on the booted image: drd's menu with its newest kernel
// and this machine's arguments, the hook in grub.cfg, the block; the
// images it cannot reach are left out, with a warning for a disk and a
// note for an image file; a needed image it cannot reach writes no block.
func TestWriteBootConfig(t *testing.T) {
	m, _ := unitMachine(t, nil, nil)
	mustWrite(t, filepath.Join(m.Root, "boot/grub/grub.cfg"), "menuentry 'Debian GNU/Linux' {\n}\n", 0o644)
	b := bootedImage("sysimage_001", Booted)
	onDisk := missingImage("sysimage_002", Complete)
	inFile := missingImage("sysimage_003", Complete)
	inFile.ImageFile = "/srv/three.img"
	st := &Status{Booted: b, Images: []*Image{b, onDisk, inFile}}

	next := BootState{Seq: 12, Next: "sysimage_001"}
	var out said
	if err := m.WriteBootConfig(st, &next, nil, out.reporter()); err != nil {
		t.Fatalf("WriteBootConfig: %v\n%s", err, &out)
	}
	want, err := grub.Menu{Self: "sysimage_001", Panic: PanicSeconds, TrialArgs: grubTrialArgs(st, &next), Images: []grub.MenuImage{{
		Name: "sysimage_001", Title: "drd: sysimage_001, Linux 6.1.0-10-amd64", BootUUID: uuid1, BootPrefix: "/boot",
		Kernel: "vmlinuz-6.1.0-10-amd64", Initrd: "initrd.img-6.1.0-10-amd64",
		Cmdline: "root=UUID=" + uuid1 + " ro quiet console=ttyS0,115200",
	}}}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(m.Root, MenuPath)); err != nil || string(got) != string(want) {
		t.Errorf("drd.cfg (%v):\n%s\nwant:\n%s", err, got, want)
	}
	if got, err := ReadBlock(filepath.Join(m.Root, BlockPath)); err != nil || got != next {
		t.Errorf("block = %+v, %v; want %+v", got, err, next)
	}
	if cfg, err := os.ReadFile(filepath.Join(m.Root, "boot/grub/grub.cfg")); err != nil || !strings.Contains(string(cfg), "### BEGIN /etc/grub.d/05_drd ###") || !strings.Contains(string(cfg), "menuentry 'Debian GNU/Linux'") {
		t.Errorf("grub.cfg not hooked, or its entries lost (%v):\n%s", err, cfg)
	}
	if !out.has("WARNING: leaving sysimage_002 out of the boot menu: ") || !out.has("sysimage_001: wrote "+MenuPath) {
		t.Errorf("no warning for the missing disk, or no note of the menu written:\n%s", &out)
	}
	if !out.has("leaving sysimage_003 out of the boot menu") || out.has("WARNING: leaving sysimage_003") {
		t.Errorf("an image file not attached is a note, not a warning:\n%s", &out)
	}

	// Again: the menu has not changed and is not written again.
	out = said{}
	if err := m.WriteBootConfig(st, nil, nil, out.reporter()); err != nil {
		t.Fatal(err)
	}
	if out.has("wrote " + MenuPath) {
		t.Errorf("an unchanged menu was written again:\n%s", &out)
	}

	// The boot target's disk is missing: an error naming it (once), no block.
	err = m.WriteBootConfig(st, &BootState{Seq: 13, Next: "sysimage_002"}, []string{"sysimage_002"}, out.reporter())
	if err == nil || strings.Count(err.Error(), "sysimage_002") != 1 || !strings.Contains(err.Error(), "UUID="+uuid2+") is on no block device: is its disk attached?") {
		t.Errorf("WriteBootConfig with the target's disk missing = %v", err)
	}
	if got, err := ReadBlock(filepath.Join(m.Root, BlockPath)); err != nil || got != next {
		t.Errorf("block = %+v, %v; want it unchanged, %+v", got, err, next)
	}
}

// SetTarget (STAGEISL's set) makes an image the target of every boot:
// block, records, no BootNext; the refusals change nothing.
func TestSetTarget(t *testing.T) {
	setup := func(t *testing.T, state State) (Machine, *Status) {
		rec := &Record{Name: "sysimage_001", ID: "id-sysimage_001", System: "sys-1", State: state, Reason: "was bad",
			FileSystems: []FileSystem{{MountPoint: "/", Type: "ext4", UUID: uuid1}}}
		m, _ := unitMachine(t, rec, &BootState{Seq: 9, Next: "sysimage_000"})
		m.EFI = efiVars(t, nil, []uint16{1, 0})
		if err := efi.SetBootNext(m.EFI, 3); err != nil {
			t.Fatal(err)
		}
		target := bootedImage("sysimage_001", state)
		target.Reason = rec.Reason
		// The target stands where a rescue scan has it mounted: at m.Root,
		// reached without a mount (Booted), which needs no block device.
		return m, &Status{Booted: target, Images: []*Image{missingImage("sysimage_000", Activated), target}, Boot: &BootState{Seq: 9, Next: "sysimage_000"}, Activated: "sysimage_000"}
	}
	unchanged := func(t *testing.T, m Machine) {
		t.Helper()
		if got, err := ReadBlock(filepath.Join(m.Root, BlockPath)); err != nil || got != (BootState{Seq: 9, Next: "sysimage_000"}) {
			t.Errorf("a refusal wrote the block: %+v, %v", got, err)
		}
		if _, err := m.EFI.Get("BootNext"); err != nil {
			t.Errorf("a refusal removed BootNext: %v", err)
		}
	}

	t.Run("set", func(t *testing.T) {
		m, st := setup(t, Complete)
		var out said
		if err := m.SetTarget(context.Background(), st, "sysimage_001", false, out.reporter()); err != nil {
			t.Fatalf("SetTarget: %v\n%s", err, &out)
		}
		want := BootState{Seq: 10, Next: "sysimage_001"}
		if got, err := ReadBlock(filepath.Join(m.Root, BlockPath)); err != nil || got != want {
			t.Errorf("block = %+v, %v; want %+v", got, err, want)
		}
		if st.Boot == nil || *st.Boot != want || st.Activated != "sysimage_001" {
			t.Errorf("status: boot %+v, activated %s; want %+v, sysimage_001", st.Boot, st.Activated, want)
		}
		rec := readRec(t, m.Root)
		if n := len(rec.History); rec.State != Activated || n == 0 || rec.History[n-1].Action != "activate" || rec.History[n-1].Detail != "boot target, set by STAGEISL" {
			t.Errorf("record: %s, history %+v; want activated by STAGEISL", rec.State, rec.History)
		}
		if _, err := m.EFI.Get("BootNext"); err == nil {
			t.Errorf("BootNext is still set")
		}
		if b, err := m.EFI.Get("BootOrder"); err != nil || !slices.Equal(mustOrder(t, b), []uint16{1, 0}) {
			t.Errorf("BootOrder changed with no entry for the image: %x, %v", b, err)
		}
		if !out.has("not recording deactivate in sysimage_000") {
			t.Errorf("no warning that the old target's record could not be reached:\n%s", &out)
		}
	})
	t.Run("bad, forced", func(t *testing.T) {
		m, st := setup(t, Bad)
		if err := m.SetTarget(context.Background(), st, "sysimage_001", true, new(said).reporter()); err != nil {
			t.Fatal(err)
		}
		if rec := readRec(t, m.Root); rec.State != Activated {
			t.Errorf("record: %s, want activated", rec.State)
		}
	})
	for _, tt := range []struct {
		name, target string
		state        State
		change       func(*Status)
		want         string
		is           error
	}{
		{"unknown", "sysimage_009", Complete, nil, "no image sysimage_009 on this machine (found: sysimage_000, sysimage_001)", nil},
		{"none found", "sysimage_001", Complete, func(st *Status) { st.Images = nil }, "no image sysimage_001 on this machine (none found)", nil},
		{"no boot file system", "sysimage_001", Complete, func(st *Status) { st.Images[1].FileSystems = nil }, "sysimage_001 is ", errNoBootFS},
		{"broken", "sysimage_001", Broken, nil, "image not activatable: sysimage_001 is broken", ErrNotActivatable},
		{"bad", "sysimage_001", Bad, nil, "image not activatable: sysimage_001 failed its trial boot (was bad); fix it, or give -x force=true", ErrNotActivatable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, st := setup(t, tt.state)
			if tt.change != nil {
				tt.change(st)
			}
			err := m.SetTarget(context.Background(), st, tt.target, false, new(said).reporter())
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("SetTarget = %v, want %q (%v)", err, tt.want, tt.is)
			}
			unchanged(t, m)
		})
	}
}

func mustOrder(t *testing.T, b []byte) []uint16 {
	t.Helper()
	o, err := efi.DecodeBootOrder(b)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// RescueScan on a machine whose only disk has no file system it can
// read finds no image and no block; without sysfs it says where it
// looked.
func TestRescueScanFindsNothing(t *testing.T) {
	m, lvm := unitMachine(t, trialRecord(), &BootState{Seq: 1, Next: "sysimage_001"})
	st, err := m.RescueScan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Booted != nil || len(st.Images) != 0 || st.Boot != nil || st.Activated != "" || len(lvm.Ran) != 0 {
		t.Errorf("RescueScan = %+v (ran %q), want nothing found", st, lvm.Ran)
	}
	m.SysDir = filepath.Join(t.TempDir(), "no-sys")
	if _, err := m.RescueScan(context.Background()); err == nil || !strings.Contains(err.Error(), "listing block devices in "+m.SysDir) {
		t.Errorf("RescueScan without sysfs = %v", err)
	}
}

// recordedOn: a record names the file system as its root by UUID, in
// any case; a clone not yet fixed up carries its origin's root UUID.
func TestRecordedOn(t *testing.T) {
	d := BlockDev{Path: "/dev/vdb2", ID: DevID{UUID: "abcdef01-2345-6789-abcd-ef0123456789"}}
	for _, tt := range []struct {
		fss  []FileSystem
		want bool
	}{
		{[]FileSystem{{MountPoint: "/boot", UUID: "1111"}, {MountPoint: "/", UUID: "ABCDEF01-2345-6789-ABCD-EF0123456789"}}, true},
		{[]FileSystem{{MountPoint: "/", UUID: "99999999-2345-6789-abcd-ef0123456789"}}, false},
		{[]FileSystem{{MountPoint: "/", UUID: ""}}, true},
		{[]FileSystem{{MountPoint: "/var", UUID: "99999999-2345-6789-abcd-ef0123456789"}}, true},
	} {
		if got := recordedOn(&Record{FileSystems: tt.fss}, d); got != tt.want {
			t.Errorf("recordedOn(%+v) = %v, want %v", tt.fss, got, tt.want)
		}
	}
}

// TestWriteBootConfigTrialWatchdog: GRUB's trial entry arms softdog with
// the trial's own deadline (-x watchdog=), kept in the block, also when
// the menu is written again later without a new block; 0 arms none and
// loads no watchdog archive.
func TestWriteBootConfigTrialWatchdog(t *testing.T) {
	m, _ := unitMachine(t, nil, nil)
	b := bootedImage("sysimage_001", Booted)
	st := &Status{Booted: b, Images: []*Image{b}}
	menu := func() string {
		t.Helper()
		cfg, err := os.ReadFile(filepath.Join(m.Root, MenuPath))
		if err != nil {
			t.Fatal(err)
		}
		return string(cfg)
	}
	for _, c := range []struct {
		watchdog int
		want     string
	}{
		{300, `set drd_panic="panic=10 modules_load=softdog softdog.soft_active_on_boot=1 softdog.soft_margin=300"`},
		{0, "set drd_panic=panic=10\n"},
	} {
		next := BootState{Seq: 20, Next: "sysimage_001", Trial: "sysimage_002", Tries: 2, Watchdog: c.watchdog}
		var out said
		if err := m.WriteBootConfig(st, &next, nil, out.reporter()); err != nil {
			t.Fatalf("WriteBootConfig: %v\n%s", err, &out)
		}
		st.Boot = &next
		if err := m.WriteBootConfig(st, nil, nil, out.reporter()); err != nil {
			t.Fatal(err)
		}
		cfg := menu()
		if !strings.Contains(cfg, c.want) {
			t.Errorf("watchdog=%d: the menu's trial arguments are not %q:\n%s", c.watchdog, c.want, cfg)
		}
		if got := strings.Contains(cfg, "set drd_trial_initrd=1"); got != (c.watchdog > 0) {
			t.Errorf("watchdog=%d: the menu loads the watchdog archive: %v", c.watchdog, got)
		}
	}
	// With no trial pending, the default deadline: the menu does not
	// change with every block.
	st.Boot = &BootState{Seq: 21, Next: "sysimage_001"}
	var out said
	if err := m.WriteBootConfig(st, nil, nil, out.reporter()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(menu(), "softdog.soft_margin=900\"") {
		t.Errorf("no trial pending: want the default deadline in the menu:\n%s", menu())
	}
}

package bootenv_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/bootenv/efi"
	"github.com/drd-linux/drd/clone"
	"github.com/drd-linux/drd/internal/execrun"
	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/internal/testsys"
)

// TestFirmwareOnLoop follows the firmware's choice through clone,
// activate (trial and lasting), deactivate, STAGEISL's SetTarget and the
// boot-time pass, on loop devices with UEFI variables in a directory
// (efi.DirVars): never this machine's. The entries are told apart by the
// PARTUUIDs blkid reads from the disks, not by drd's code.
func TestFirmwareOnLoop(t *testing.T) {
	s := testsys.ForTest(t, testsys.Options{})
	ctx := context.Background()
	debianBoot(t, s)
	// GRUB's EFI modules in the image: the clone gets GRUB on its ESP and
	// a boot entry.
	if _, err := os.Stat("/usr/lib/grub/x86_64-efi"); err != nil {
		t.Skip("needs grub-efi-amd64-bin (/usr/lib/grub/x86_64-efi)")
	}
	os.MkdirAll(filepath.Join(s.Root, "usr/lib/grub"), 0o755)
	if out, err := exec.Command("cp", "-a", "/usr/lib/grub/x86_64-efi", filepath.Join(s.Root, "usr/lib/grub/")).CombinedOutput(); err != nil {
		t.Fatalf("copying GRUB's EFI modules: %v\n%s", err, out)
	}

	// The firmware: the original's GRUB (booted, first), a UEFI shell.
	v, err := efi.NewDirVars(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	origESP := partUUID(t, s.ESP)
	grub, err := efi.LoadOption{Active: true, Description: "debian", File: bootenv.GrubEFIPath,
		Disk: efi.HardDrive{Number: 2, Start: 2048, Size: 131072, PartGUID: origESP}}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	shell := []byte{1, 0, 0, 0, 4, 0, 'S', 0, 0, 0, 0x7f, 0xff, 4, 0}
	for name, val := range map[string][]byte{
		"Boot0000": grub, "Boot0005": shell,
		"BootCurrent": efi.EncodeBootOrder([]uint16{0}), "BootOrder": efi.EncodeBootOrder([]uint16{0, 5}),
	} {
		if err := v.Set(name, val); err != nil {
			t.Fatal(err)
		}
	}

	disk := testsys.LoopDisk(t, "target.img", 1<<30)
	if err := clone.Run(ctx, clone.Options{Root: s.Root, Target: disk, EFI: v}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	st, err := bootenv.Scan(ctx, s.Root)
	if err != nil {
		t.Fatal(err)
	}
	var cl *bootenv.Image
	for _, img := range st.Images {
		if img.Disk == disk {
			cl = img
		}
	}
	if cl == nil {
		t.Fatalf("Scan did not find the clone on %s", disk)
	}
	cloneESP := ""
	for _, f := range cl.FileSystems {
		if f.MountPoint == "/boot/efi" {
			cloneESP = partUUID(t, f.Device)
		}
	}
	if cloneESP == "" {
		t.Fatalf("the clone %s has no ESP: %+v", cl.Name, cl.FileSystems)
	}
	// The clone's entry, right after the booted one.
	entries, order := firmware(t, v, "BootOrder 0000,0001,0005", "no BootNext")
	if e := entries[1]; !strings.EqualFold(e.Disk.PartGUID, cloneESP) || e.File != bootenv.GrubEFIPath || e.Description != "drd "+cl.Name {
		t.Fatalf("Boot0001 = %+v, want the clone's GRUB on PARTUUID %s (BootOrder %v)", e, cloneESP, order)
	}

	m := bootenv.Real(s.Root)
	m.EFI = v
	activate := func(opt bootenv.ActivateOptions, want ...string) {
		t.Helper()
		if err := m.Activate(ctx, opt, report.Func(t.Logf)); err != nil {
			t.Fatal(err)
		}
		firmware(t, v, want...)
	}
	activate(bootenv.ActivateOptions{Image: cl.Name, Trial: true}, "BootOrder 0000,0001,0005", "BootNext 0001")
	activate(bootenv.ActivateOptions{Image: cl.Name}, "BootOrder 0001,0000,0005", "no BootNext")
	activate(bootenv.ActivateOptions{Deactivate: true}, "BootOrder 0000,0001,0005", "no BootNext")

	// Without a store nothing is written, and the notes say so.
	notes := &lines{}
	none := bootenv.Real(s.Root)
	if err := none.Activate(ctx, bootenv.ActivateOptions{Image: cl.Name, Trial: true}, report.Func(notes.add)); err != nil {
		t.Fatal(err)
	}
	firmware(t, v, "BootOrder 0000,0001,0005", "no BootNext")
	if !notes.has("BootNext unchanged: no UEFI variables given") {
		t.Errorf("activate without UEFI variables did not say what it skipped:\n%s", notes.text())
	}
	notes = &lines{}
	if err := none.Activate(ctx, bootenv.ActivateOptions{Deactivate: true}, report.Func(notes.add)); err != nil {
		t.Fatal(err)
	}
	if !notes.has("BootOrder unchanged: no UEFI variables given") {
		t.Errorf("deactivate without UEFI variables did not say what it skipped:\n%s", notes.text())
	}

	// STAGEISL's set: a lasting switch, any BootNext gone.
	if err := efi.SetBootNext(v, 5); err != nil {
		t.Fatal(err)
	}
	st, err = m.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetTarget(ctx, st, cl.Name, false, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	firmware(t, v, "BootOrder 0001,0000,0005", "no BootNext")

	// The boot-time pass of a trial of the booted image that passes (no
	// checks.d): the booted image's entry goes first. It runs nothing.
	st, err = m.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	trial := bootenv.BootState{Seq: st.Boot.Seq + 1, Next: cl.Name, Trial: st.Booted.Name, Tries: 1}
	if err := m.WriteBootConfig(st, &trial, nil, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	run := &execrun.Fake{}
	if err := m.BootCheck(ctx, bootenv.CheckOptions{Runner: run, NoReboot: true}, report.Func(t.Logf)); err != nil {
		t.Fatal(err)
	}
	if len(run.Ran) != 0 {
		t.Errorf("the boot-time pass ran %q", run.Ran)
	}
	firmware(t, v, "BootOrder 0000,0001,0005", "no BootNext")
}

// partUUID is the GPT partition GUID of dev, as blkid reads it.
func partUUID(t *testing.T, dev string) string {
	t.Helper()
	out, err := exec.Command("blkid", "-p", "-s", "PART_ENTRY_UUID", "-o", "value", dev).Output()
	if err != nil || len(strings.TrimSpace(string(out))) != 36 {
		t.Fatalf("blkid PART_ENTRY_UUID of %s: %q, %v", dev, out, err)
	}
	return strings.ToLower(strings.TrimSpace(string(out)))
}

// firmware checks BootOrder and BootNext ("BootNext 0001", "no BootNext")
// and returns the entries and the order.
func firmware(t *testing.T, v efi.Vars, want ...string) (map[uint16]efi.LoadOption, []uint16) {
	t.Helper()
	entries, order, err := efi.BootEntries(v)
	if err != nil {
		t.Fatal(err)
	}
	got := "BootOrder " + efi.BootOrderText(order)
	if b, err := v.Get("BootNext"); err == nil {
		n, _ := efi.DecodeBootOrder(b)
		got += ", BootNext " + efi.BootOrderText(n)
	} else {
		got += ", no BootNext"
	}
	if w := strings.Join(want, ", "); got != w {
		t.Fatalf("firmware: %s; want %s", got, w)
	}
	return entries, order
}

// lines collects what a report.Func prints.
type lines struct {
	mu sync.Mutex
	l  []string
}

func (l *lines) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.l = append(l.l, fmt.Sprintf(format, args...))
}

func (l *lines) has(s string) bool {
	return strings.Contains(l.text(), s)
}

func (l *lines) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.l, "\n")
}

package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestActivateLVM is the shorter proof on layout (b) for CI: what
// differs with LVM (the clone's / and /var on the renamed VG drd_sysvg,
// found by its initramfs and fstab, its record beneath its own /var),
// without the steps that only exercise GRUB's logic, the same on every
// layout (3: failing check and panic; 5: power cuts; TestActivate/lvm
// runs them). Hot maintenance with a trial boot into the clone; the
// window closed with drd commit (the original retired) and the next
// window's clone made onto the retired original's disk without
// -x overwrite=true (the A/B rotation); hot recovery into that clone;
// then the original disk pulled out: the clone boots alone.
func TestActivateLVM(t *testing.T) {
	for _, l := range onReleases(LayoutLVM) {
		t.Run(l.Name, func(t *testing.T) { activateLVM(t, l) })
	}
}

func activateLVM(t *testing.T, l Layout) {
	Require(t)
	ph := PhasesFor(t)
	vm := Boot(t, l, Options{Debs: []Deb{helloDeb}, BootTimeout: 10 * time.Minute})
	wantRoot(t, vm, SysSerial, "first boot")
	target := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + TargetSerial))
	ph.Time("clone", func() { t.Log(vm.MustRun("drd clone -v -t " + target + " 2>&1")) })
	ph.Time("runcmd", func() {
		t.Log(vm.MustRun("drd runcmd -x depot=/run/drd-e2e/debs dpkg -i /run/drd-e2e/debs/drd-e2e-hello_1.0_all.deb 2>&1"))
	})
	t.Log(vm.MustRun("drd activate -x trial=true 2>&1"))
	rebootSettled(t, vm, 2)
	wantRoot(t, vm, TargetSerial, "1. hot maintenance")
	b := vm.BootInfo()
	if !strings.Contains(b.RootSource, "drd_sysvg-root") {
		t.Errorf("1. / is %s, want the clone's LV drd_sysvg/root", b.RootSource)
	}
	if v := strings.TrimSpace(vm.MustRun("findmnt -no SOURCE /var")); !strings.Contains(v, "drd_sysvg-var") {
		t.Errorf("1. /var is %s, want the clone's LV drd_sysvg/var", v)
	}
	vm.MustRun("grep -q 'patched by drd runcmd' /usr/share/drd-e2e-hello/hello.txt")
	if st := readStatus(t, vm); st.Booted.Name != "sysimage_001" {
		t.Fatalf("1. booted %q, want sysimage_001", st.Booted.Name)
	} else if s, _ := st.state("sysimage_001"); s != "good" {
		t.Fatalf("1. the trial image is %q, want good", s)
	}
	t.Log(vm.MustRun("drd status"))

	// 1b. The window closes: the clone becomes the base, the original is
	// retired, and the next window's clone goes onto its disk, no
	// -x overwrite=true.
	sysDisk := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + SysSerial))
	// Before the commit the original's disk is refused: LVM activated its
	// VG at boot (in use), and it carries data.
	if r := vm.Run("drd clone -p -t " + sysDisk); r.Code != 1 || !strings.Contains(r.Stderr, "ERROR: cloning to "+sysDisk) {
		t.Errorf("1b. drd clone -p onto the original's disk before drd commit: exit %d, want 1 and a refusal:\n%s", r.Code, r.Stderr)
	}
	ph.Time("commit", func() {
		t.Log(vm.MustRun("drd commit -p 2>&1"))
		t.Log(vm.MustRun("drd commit 2>&1"))
	})
	st := readStatus(t, vm)
	if s, _ := st.state("sysimage_000"); s != "retired" {
		t.Fatalf("1b. after drd commit sysimage_000 is %q, want retired", s)
	}
	if s, _ := st.state("sysimage_001"); s != "good" {
		t.Fatalf("1b. after drd commit sysimage_001 is %q, want good", s)
	}
	t.Log(vm.MustRun("drd status; lvs -o vg_name,lv_name,lv_attr 2>&1"))
	ph.Time("clone onto the retired disk", func() { t.Log(vm.MustRun("drd clone -t " + sysDisk + " 2>&1")) })
	if s, _ := readStatus(t, vm).state("sysimage_000"); s != "complete" {
		t.Fatalf("1b. the clone onto the retired disk is %q, want complete", s)
	}

	// 2. Hot recovery onto the original disk, which holds now the clone
	// of the patched image.
	t.Log(vm.MustRun("drd activate sysimage_000 2>&1"))
	rebootSettled(t, vm, 2)
	wantRoot(t, vm, SysSerial, "2. hot recovery")
	vm.MustRun("dpkg -s drd-e2e-hello >/dev/null 2>&1") // a clone of the patched image
	if st := readStatus(t, vm); st.Booted.Name != "sysimage_000" {
		t.Fatalf("2. booted %q, want sysimage_000", st.Booted.Name)
	}
	lostDisk(t, vm, l)
}

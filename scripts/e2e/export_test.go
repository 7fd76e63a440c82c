package e2e

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"aead.dev/minisign"
)

// Disks of the export scenario beside the clone target: the empty disks
// the full and the delta artifact are imported onto.
const (
	ImportSerial = "drdimport"
	DeltaSerial  = "drddelta"
)

// TestExportImport is issue 17's proof in a VM, on layouts (a) BIOS and
// (c) UEFI. One VM plays both hosts, with two more empty disks (one VM
// instead of two: under TCG on a shared 2-core machine a second guest
// doubles the cost, and the booted image of the same VM is the base a
// delta needs without building a second identical system; the importing
// "host" gets another hostname first, so that identity staying local is
// seen): as the canary it clones, installs a local package with drd
// runcmd and exports the clone signed, full and as a delta; a tampered
// artifact is refused with its target disk untouched; as the importer
// it imports both with -x trust_key onto the empty disks, activates each
// on trial and reboots: the imported image boots, its boot check marks it
// good, the package is there and the hostname is the importer's.
func TestExportImport(t *testing.T) {
	for _, l := range []Layout{LayoutBIOS, LayoutUEFI} {
		t.Run(l.Name, func(t *testing.T) { exportScenario(t, l) })
	}
}

func exportScenario(t *testing.T, l Layout) {
	Require(t)
	ph := PhasesFor(t)
	vm := Boot(t, l, Options{Debs: []Deb{helloDeb}, BootTimeout: 15 * time.Minute, CommandTimeout: 45 * time.Minute,
		Disks: []Extra{{Serial: TargetSerial}, {Serial: ImportSerial}, {Serial: DeltaSerial}}})
	disk := func(serial string) string {
		return strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + serial))
	}
	target, impDisk, deltaDisk := disk(TargetSerial), disk(ImportSerial), disk(DeltaSerial)

	// The signing key pair, made here, written into the guest.
	pub, key, err := minisign.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pubText, _ := pub.MarshalText()
	keyText, _ := key.MarshalText()
	vm.MustRun(fmt.Sprintf("set -e; mkdir -p -m 700 /root/keys; printf '%%s\\n' '%s' > /root/keys/canary.key; printf '%%s\\n' '%s' > /root/keys/canary.pub",
		strings.TrimSpace(string(keyText)), strings.TrimSpace(string(pubText))))

	// The canary: clone, patch, export (full and delta), timed in the guest.
	ph.Time("clone", func() { t.Log(vm.MustRun("drd clone -t " + target + " 2>&1")) })
	ph.Time("runcmd", func() {
		t.Log(vm.MustRun("drd runcmd -x depot=/run/drd-e2e/debs dpkg -i /run/drd-e2e/debs/drd-e2e-hello_1.0_all.deb 2>&1"))
	})
	timed := func(what, cmd string) {
		t.Helper()
		out := vm.MustRun(`s=$(date +%s.%N); ` + cmd + ` 2>&1; rc=$?; e=$(date +%s.%N); awk -v a=$e -v b=$s 'BEGIN { printf "took %.1f s\n", a - b }'; exit $rc`)
		t.Logf("%s:\n%s", what, out)
	}
	ph.Time("export full", func() {
		timed("drd export (full)", "drd export -x sign_key=/root/keys/canary.key -o /var/tmp/full.drd")
	})
	ph.Time("export delta", func() {
		timed("drd export (delta)", "drd export -x delta=true -x sign_key=/root/keys/canary.key -o /var/tmp/delta.drd")
	})
	t.Log(vm.MustRun("ls -l /var/tmp/full.drd /var/tmp/delta.drd; du -sh --apparent-size /var/tmp/*.drd; df -h / /boot"))
	st := readStatus(t, vm)
	before := imageNames(st)

	// Another host: another name. The booted image is the delta's base.
	vm.MustRun("echo importer > /etc/hostname && hostname importer")

	// A tampered artifact: one byte flipped in the middle of a member, refused,
	// the target disk's first and last MiB as they were.
	edges := func(d string) string {
		return vm.MustRun(fmt.Sprintf("dd if=%[1]s bs=1M count=1 status=none | sha256sum; dd if=%[1]s bs=1M skip=$(( $(blockdev --getsize64 %[1]s) / 1048576 - 1 )) status=none | sha256sum", d))
	}
	edgesBefore := edges(impDisk)
	vm.MustRun(`set -e; cp /var/tmp/full.drd /var/tmp/bad.drd
perl -e 'open(F, "+<", $ARGV[0]) or die; $o = int((-s F) / 2); seek(F, $o, 0); read(F, $c, 1); seek(F, $o, 0); print F chr(ord($c) ^ 1); close(F) or die' /var/tmp/bad.drd
! cmp -s /var/tmp/full.drd /var/tmp/bad.drd`)
	r := vm.Run("drd import -x trust_key=/root/keys/canary.pub /var/tmp/bad.drd -t " + impDisk + " 2>&1")
	t.Logf("drd import of a tampered artifact: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	if r.Code != 1 {
		t.Fatalf("a tampered artifact: drd import exit %d, want 1", r.Code)
	}
	if !strings.Contains(r.Stdout+r.Stderr, "corrupt") {
		t.Errorf("a tampered artifact: drd import does not say it is corrupt")
	}
	if e := edges(impDisk); e != edgesBefore {
		t.Fatalf("a refused import changed %s:\nbefore %s\nafter  %s", impDisk, edgesBefore, e)
	}
	if got := imageNames(readStatus(t, vm)); !slices.Equal(got, before) {
		t.Fatalf("a refused import made an image: %v, before %v", got, before)
	}

	// The imports, full and delta, timed.
	ph.Time("import full", func() {
		timed("drd import (full)", "drd import -x trust_key=/root/keys/canary.pub /var/tmp/full.drd -t "+impDisk)
	})
	full := newImage(t, readStatus(t, vm), before)
	before = imageNames(readStatus(t, vm))
	ph.Time("import delta", func() {
		timed("drd import (delta)", "drd import -x trust_key=/root/keys/canary.pub /var/tmp/delta.drd -t "+deltaDisk)
	})
	delta := newImage(t, readStatus(t, vm), before)
	t.Log(vm.MustRun("drd status"))
	if l.Firmware == UEFI {
		t.Log(vm.MustRun("efibootmgr -v"))
	}

	for _, imp := range []struct{ name, serial, what string }{{full, ImportSerial, "full"}, {delta, DeltaSerial, "delta"}} {
		t.Log(vm.MustRun("drd activate -x trial=true " + imp.name + " 2>&1"))
		rebootSettled(t, vm, 3)
		wantRoot(t, vm, imp.serial, "the "+imp.what+" import")
		st := readStatus(t, vm)
		if st.Booted.Name != imp.name {
			t.Fatalf("%s import: booted %q, want %s; status %+v", imp.what, st.Booted.Name, imp.name, st)
		}
		if s, why := st.state(imp.name); s != "good" {
			t.Fatalf("%s import: %s is %q (%s), want good after its trial boot", imp.what, imp.name, s, why)
		}
		vm.MustRun("grep -q 'patched by drd runcmd' /usr/share/drd-e2e-hello/hello.txt && dpkg -s drd-e2e-hello >/dev/null")
		if h := strings.TrimSpace(vm.MustRun("hostname")); h != "importer" {
			t.Errorf("%s import: hostname %q, want this host's importer", imp.what, h)
		}
		t.Logf("%s import %s booted on trial, good, with the package: %s", imp.what, imp.name, vm.MustRun("drd status"))
	}
}

func imageNames(st status) []string {
	var out []string
	for _, img := range st.Images {
		out = append(out, img.Name)
	}
	slices.Sort(out)
	return out
}

// newImage is the one image st has that before had not.
func newImage(t *testing.T, st status, before []string) string {
	t.Helper()
	var added []string
	for _, n := range imageNames(st) {
		if !slices.Contains(before, n) {
			added = append(added, n)
		}
	}
	if len(added) != 1 {
		t.Fatalf("images %v after an import, before %v: want one new", imageNames(st), before)
	}
	return added[0]
}

package e2e

import (
	"strings"
	"testing"
	"time"
)

// repackGrubPC rebuilds the installed grub-pc as a .deb (its files, its
// control data and maintainer scripts, as dpkg-repack does) into
// depotDir: dpkg -i of it is a reinstall that runs grub-pc's real
// config and postinst.
const repackGrubPC = `set -e
d=$(mktemp -d); mkdir -p $d/DEBIAN ` + depotDir + `
dpkg-query -W -f '${Package}\n' grub-pc >/dev/null
while read -r f; do if [ -f "$f" ] && [ ! -L "$f" ]; then mkdir -p "$d$(dirname "$f")"; cp -a "$f" "$d$f"; fi; done < /var/lib/dpkg/info/grub-pc.list
for s in preinst postinst prerm postrm config templates; do
	test -e /var/lib/dpkg/info/grub-pc.$s && cp -a /var/lib/dpkg/info/grub-pc.$s $d/DEBIAN/$s
done
dpkg-query -s grub-pc | grep -v -E '^(Status|Conffiles):' > $d/DEBIAN/control
test -e /var/lib/dpkg/info/grub-pc.conffiles && cp /var/lib/dpkg/info/grub-pc.conffiles $d/DEBIAN/conffiles
dpkg-deb --root-owner-group -b $d ` + depotDir + `/grub-pc.deb >/dev/null
rm -rf $d; ls -l ` + depotDir + `/grub-pc.deb`

// TestRuncmdGrubPC: a real grub-pc reinstall in drd runcmd on layout
// (a). The original's debconf names its own disk; drd clone points the
// clone's at the clone's disk. grub-pc's postinst in the runcmd
// environment calls grub-install (drd's shim) and update-grub (shim);
// the package ends configured; the original's disk is untouched; drd
// installs GRUB again on the clone's disk (its boot sector wiped here
// first); the clone boots on trial, regenerates its grub.cfg there, and
// is good.
func TestRuncmdGrubPC(t *testing.T) {
	Require(t)
	ph := PhasesFor(t)
	vm := Boot(t, LayoutBIOS, Options{BootTimeout: 10 * time.Minute})
	target := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + TargetSerial))
	vm.MustRun("echo 'grub-pc grub-pc/install_devices multiselect /dev/disk/by-id/virtio-" + SysSerial + "' | debconf-set-selections")
	ph.Time("clone", func() { t.Log(vm.MustRun("drd clone -v -t " + target + " 2>&1")) })
	conf := vm.MustRun(`m=$(drd mount -q); grep -A2 '^Name: grub-pc/install_devices$' $m/var/cache/debconf/config.dat; drd umount -q`)
	if !strings.Contains(conf, "Value: /dev/disk/by-id/virtio-"+TargetSerial) {
		t.Errorf("the clone's grub-pc/install_devices does not name the clone's disk:\n%s", conf)
	}
	ph.Time("repack grub-pc", func() { t.Log(vm.MustRun(repackGrubPC)) })

	// The clone's disk loses its GRUB: boot sector code and BIOS-boot partition.
	biosPart := func(disk string) string {
		return strings.TrimSpace(vm.MustRun("lsblk -nrpo NAME,PARTTYPE " + disk + " | awk 'tolower($2) == \"" + strings.ToLower(string(BIOSBoot)) + "\" {print $1}'"))
	}
	cloneBIOS := biosPart(target)
	vm.MustRun("dd if=/dev/zero of=" + target + " bs=440 count=1 conv=notrunc,fsync 2>/dev/null && dd if=/dev/zero of=" + cloneBIOS + " bs=1M count=1 conv=fsync 2>/dev/null")
	vm.MustRun("! head -c 512 " + target + " | grep -q GRUB")
	origHash := func() string {
		return vm.MustRun("sys=$(readlink -f /dev/disk/by-id/virtio-" + SysSerial + "); head -c 2097152 $sys | sha256sum; cat " + biosPart("/dev/disk/by-id/virtio-"+SysSerial) + " | sha256sum; sha256sum /boot/grub/i386-pc/core.img /boot/grub/grub.cfg")
	}
	before := origHash()

	var out string
	ph.Time("runcmd grub-pc", func() {
		r := vm.Run("DEBIAN_FRONTEND=noninteractive drd runcmd -v -x depot=" + depotDir + " dpkg -i " + depotDir + "/grub-pc.deb 2>&1")
		out = r.Stdout + r.Stderr
		t.Logf("drd runcmd dpkg -i grub-pc.deb: exit %d\n%s", r.Code, out)
		if r.Code != 0 {
			t.Fatalf("drd runcmd dpkg -i grub-pc.deb exited %d", r.Code)
		}
	})
	for _, want := range []string{
		"grub-pc: Running grub-install",
		`drd runcmd: skipped "grub-install --target=i386-pc --force --no-floppy /dev/disk/by-id/virtio-` + TargetSerial,
		"skipped in the runcmd environment: update-grub",
		"Installing GRUB for BIOS on " + target,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("drd runcmd did not say %q", want)
		}
	}
	if after := origHash(); after != before {
		t.Errorf("the original's disk or /boot changed:\nbefore\n%s\nafter\n%s", before, after)
	}
	vm.MustRun("head -c 512 " + target + " | grep -q GRUB")
	if n := strings.TrimSpace(vm.MustRun("tr -d '\\0' < " + cloneBIOS + " | wc -c")); n == "0" {
		t.Errorf("the clone's BIOS-boot partition %s is still empty", cloneBIOS)
	}
	st := vm.MustRun(`m=$(drd mount -q); chroot $m dpkg-query -W -f '${Status}' grub-pc; echo; ls $m/var/opt/drd/grub-cfg-stale; drd umount -q`)
	if !strings.Contains(st, "install ok installed") || !strings.Contains(st, "grub-cfg-stale") {
		t.Errorf("in the clone, grub-pc is not configured or grub.cfg not marked for regeneration:\n%s", st)
	}

	// The clone boots on trial, regenerates its grub.cfg, is good.
	t.Log(vm.MustRun("drd activate -x trial=true 2>&1"))
	rebootSettled(t, vm, 2)
	wantRoot(t, vm, TargetSerial, "trial boot after the grub-pc reinstall")
	vm.MustRun(`for i in $(seq 120); do test -e /var/opt/drd/grub-cfg-stale || break; sleep 1; done; ! test -e /var/opt/drd/grub-cfg-stale`)
	vm.MustRun(`grep -q 'source "${prefix}/drd.cfg"' /boot/grub/grub.cfg`)
	if st := readStatus(t, vm); st.Booted.Name != "sysimage_001" {
		t.Fatalf("after the trial boot: %+v", st)
	} else if s, _ := st.state("sysimage_001"); s != "good" {
		t.Errorf("the clone is %q after its trial boot, want good", s)
	}
	t.Log(vm.MustRun("journalctl -b -u drd-boot-check.service --no-pager | tail -20"))
}

package e2e

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"
)

// DataSerial is the extra disk of TestLVM holding a second volume group.
const DataSerial = "drddata"

// TestLVM is issue 4's proof on layout (b): / and /var on LVs of sysvg,
// plus an xfs LV /opt in sysvg made here, and /srv on an LV of a second
// VG (datavg, on its own disk: shared). A clone interrupted by SIGTERM
// and one killed by SIGKILL leave no snapshot behind once the next drd
// clone ran; that clone copies from snapshots, the source VGs are
// unchanged, the clone's VG is inactive until drd mount and inactive
// again after drd umount, every entry of every critical file system is
// the same in the clone, and fsck finds the clone's file systems clean.
func TestLVM(t *testing.T) {
	for _, l := range onReleases(LayoutLVM) {
		t.Run(l.Name, func(t *testing.T) { lvmScenario(t, l) })
	}
}

func lvmScenario(t *testing.T, l Layout) {
	Require(t)
	ph := PhasesFor(t)
	vm := Boot(t, l, Options{Disks: []Extra{{Serial: TargetSerial}, {Serial: DataSerial, Size: 1 * GiB}}})
	target := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + TargetSerial))
	data := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + DataSerial))

	ph.Time("second VG, xfs LV", func() {
		vm.MustRun(`set -e
pvcreate -y ` + data + ` && vgcreate datavg ` + data + ` && lvcreate -y -n srv -L 256m datavg
mkfs.ext4 -q -L srv /dev/datavg/srv && mkdir -p /srv && echo '/dev/datavg/srv /srv ext4 defaults 0 2' >> /etc/fstab && mount /srv && echo shared > /srv/file
lvcreate -y -n opt -L 320m sysvg && mkfs.xfs -q -L opt /dev/sysvg/opt && mkdir -p /opt
echo "UUID=$(blkid -s UUID -o value /dev/sysvg/opt) /opt xfs defaults 0 2" >> /etc/fstab && mount /opt
cp -a /usr/share/doc /usr/share/zoneinfo /opt/ && ln -s doc /opt/docs && mknod /opt/fifo p && dd if=/dev/urandom of=/opt/sparse bs=64k count=3 seek=100 2>/dev/null
sed -i 's|^/dev/mapper/sysvg-var |/dev/sysvg/var |' /etc/fstab && systemctl daemon-reload
cat /etc/fstab`)
	})
	before := lvmState(t, vm)
	t.Logf("LVM before:\n%s", before)

	// SIGTERM once the copy from the snapshots runs: drd cleans up itself.
	ph.Time("clone killed by SIGTERM", func() { killClone(t, vm, target, "TERM") })
	if snaps := vm.MustRun("lvs --noheadings -o lv_name | grep _drdsnap || true"); strings.TrimSpace(snaps) != "" {
		t.Errorf("a clone stopped by SIGTERM left snapshots: %s", snaps)
	}
	// SIGKILL: the snapshots stay until the next drd clone.
	ph.Time("clone killed by SIGKILL", func() { killClone(t, vm, target, "KILL") })
	if snaps := vm.MustRun("lvs --noheadings -o lv_name | grep _drdsnap || true"); !strings.Contains(snaps, "root_drdsnap") {
		t.Errorf("a clone killed by SIGKILL while copying left no snapshot (killed too late?): %q", snaps)
	}

	var out string
	ph.Time("clone", func() {
		r := vm.Run("drd clone -v -t " + target + " -x overwrite=true")
		out = r.Stdout + r.Stderr
		t.Logf("drd clone: exit %d\n%s", r.Code, out)
		if r.Code != 0 {
			t.Fatalf("drd clone exited %d", r.Code)
		}
	})
	for _, want := range []string{
		"removed snapshot sysvg/root_drdsnap, left by an interrupted clone",
		"Volume group drd_sysvg (new, for sysvg)",
		"Taking snapshots of the critical logical volumes of sysvg",
		"no second pass needed",
		"removed snapshot sysvg/opt_drdsnap",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("drd clone did not say %q", want)
		}
	}
	if strings.Contains(out, "Second pass") {
		t.Error("a clone from snapshots made a second pass")
	}
	if after := lvmState(t, vm); after != before {
		t.Errorf("the source VGs changed:\nbefore\n%s\nafter\n%s", before, after)
	}
	if snaps := vm.MustRun("lvs --noheadings -o lv_name | grep _drdsnap; dmsetup ls | grep drdsnap; true"); strings.TrimSpace(snaps) != "" {
		t.Errorf("snapshots left after the clone: %s", snaps)
	}
	if active := vm.MustRun("lvs --noheadings -o lv_name,lv_attr drd_sysvg"); strings.Contains(active, "-wi-a") {
		t.Errorf("the clone's VG is active after drd clone:\n%s", active)
	}
	st := vm.MustRun("drd status")
	t.Log(st)
	for _, want := range []string{"sysvg/root", "sysvg/var", "sysvg/opt", "drd_sysvg/root", "drd_sysvg/var", "drd_sysvg/opt"} {
		if !strings.Contains(st, want) {
			t.Errorf("drd status does not show %s", want)
		}
	}

	ph.Time("mount", func() { vm.MustRun("drd mount") })
	if lvs := vm.MustRun("lvs --noheadings -o lv_name,lv_attr drd_sysvg"); strings.Count(lvs, "-wi-ao") != 3 {
		t.Errorf("after drd mount, the clone's LVs are not all active and open:\n%s", lvs)
	}
	ph.Time("compare", func() {
		for _, mp := range []string{"/", "/var", "/opt", "/boot"} {
			compareTrees(t, vm, mp)
		}
		fstab := vm.MustRun("cat " + cloneMount + "/etc/fstab")
		for _, want := range []string{"/dev/mapper/drd_sysvg-root / ", "/dev/drd_sysvg/var /var ", "/dev/datavg/srv /srv "} {
			if !strings.Contains(fstab, want) {
				t.Errorf("the clone's fstab lacks %q:\n%s", want, fstab)
			}
		}
		opt := vm.MustRun("blkid -s UUID -o value /dev/drd_sysvg/opt")
		if !strings.Contains(fstab, "UUID="+strings.TrimSpace(opt)+" /opt xfs") {
			t.Errorf("the clone's fstab does not mount /opt by the clone's UUID %s:\n%s", opt, fstab)
		}
		if cfg := vm.MustRun("grep -h 'root=' " + cloneMount + "/boot/grub/grub.cfg | head -3"); !strings.Contains(cfg, "root=/dev/mapper/drd_sysvg-root") {
			t.Errorf("the clone's grub.cfg does not boot its root LV:\n%s", cfg)
		}
	})
	ph.Time("umount", func() { vm.MustRun("drd umount") })
	if lvs := vm.MustRun("lvs --noheadings -o lv_name,lv_attr drd_sysvg; dmsetup ls"); strings.Contains(lvs, "-wi-a") || strings.Contains(lvs, "drd_sysvg-") {
		t.Errorf("after drd umount, the clone's VG is still active:\n%s", lvs)
	}
	if after := lvmState(t, vm); after != before {
		t.Errorf("the source VGs changed:\nbefore\n%s\nafter\n%s", before, after)
	}
	vm.Shutdown()
	ph.Time("fsck", func() {
		checks, err := FsckDisk(context.Background(), vm.Disk(TargetSerial))
		if err != nil {
			t.Fatal(err)
		}
		types := map[string]int{}
		for _, c := range checks {
			t.Logf("fsck of the clone disk: %s", c)
			if !c.Clean {
				t.Errorf("fsck of %s of the clone disk:\n%s", c.Where, c.Output)
			}
			types[c.Type]++
		}
		if types["ext4"] < 3 || types["xfs"] < 1 {
			t.Errorf("the clone disk holds file systems %v, want / /var /boot ext4 and /opt xfs", types)
		}
	})
}

// lvmState is what must not change in the source's VGs: their LVs, sizes
// and attributes, and the VGs' free space.
func lvmState(t *testing.T, vm *VM) string {
	return vm.MustRun("vgs --noheadings --units b -o vg_name,vg_size,vg_free,lv_count sysvg datavg; lvs --noheadings --units b -o vg_name,lv_name,lv_size,lv_attr,origin sysvg datavg")
}

// killClone starts drd clone in the background, waits until it copies
// from its snapshots, and sends it signal sig.
func killClone(t *testing.T, vm *VM, target, sig string) {
	t.Helper()
	r := vm.Run(`rm -f /run/clone.log
setsid drd clone -t ` + target + ` -x overwrite=true -x snapshot=always </dev/null >/run/clone.log 2>&1 &
pid=$!
for i in $(seq 1200); do grep -q 'Copying from the snapshots' /run/clone.log && break; kill -0 $pid || break; sleep 0.5; done
sleep 3
lvs --noheadings -o lv_name,lv_attr,origin
kill -` + sig + ` $pid
for i in $(seq 240); do kill -0 $pid 2>/dev/null || break; sleep 0.5; done
kill -0 $pid 2>/dev/null && echo STILL RUNNING
cat /run/clone.log
touch /var/tmp/writable /writable && rm /var/tmp/writable /writable && echo writable`)
	t.Logf("clone killed by SIG%s:\n%s%s", sig, r.Stdout, r.Stderr)
	if !strings.Contains(r.Stdout, "Copying from the snapshots") || strings.Contains(r.Stdout, "STILL RUNNING") || !strings.Contains(r.Stdout, "writable") {
		t.Fatalf("the clone to kill with SIG%s did not reach the copy, did not end, or left a file system frozen", sig)
	}
}

// treeList prints one line per entry of the file system at dir (not
// below other mounts): path, type, mode, owner, mtime, and for others than
// directories size and link target; then path and SHA-256 of every
// regular file.
const treeList = `cd "$1" && find . -xdev \( -type d -printf '%p|d %m %U:%G %T@\n' \) -o -printf '%p|%y %m %U:%G %T@ %s %l\n'
find . -xdev -type f -exec sha256sum {} + | sed 's/^\([0-9a-f]*\)  \(.*\)$/\2|sha256 \1/'`

// volatile are paths that change on a running system after the snapshots
// were taken, or that the clone rewrites on purpose.
// LVM's metadata backups in /etc/lvm record the snapshots' removal;
// GRUB's files are the clone's own (see docs/boot.md); drd's package is
// in /usr/lib/drd (the ISL initramfs) and its unit's enablement under
// /etc/systemd/system; without the package, drd clone installs the unit
// and itself (/usr/lib/drd/drd) in both images, each with its own times;
// drd writes each image's /boot/drd itself (the trial watchdog's archive
// with the boot menus).
var volatile = []string{"/var/log/", "/var/lib/systemd/", "/var/tmp/", "/tmp/", "/var/opt/drd", "/etc/fstab",
	"/boot/grub/", "/boot/drd/", "/etc/grub.d/", "/etc/systemd/system/", "/usr/lib/drd/", "/var/cache/", "/root/", "/etc/lvm/archive", "/etc/lvm/backup"}

// isVolatile tells whether entry p (./x, relative to mount point mp) is
// at or below a volatile path, or a directory above one (mtime).
func isVolatile(mp, p string, dir bool) bool {
	full := path.Join(mp, p)
	return slices.ContainsFunc(volatile, func(v string) bool {
		v = strings.TrimSuffix(v, "/")
		return full == v || strings.HasPrefix(full, v+"/") || (dir && strings.HasPrefix(v, full+"/"))
	})
}

// compareTrees compares the file system at mp with the clone's, entry by
// entry.
func compareTrees(t *testing.T, vm *VM, mp string) {
	t.Helper()
	list := func(dir string) map[string]string {
		out := vm.MustRun("set -- " + dir + "\n" + treeList)
		m := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			path, what, _ := strings.Cut(line, "|")
			m[path] += what + " "
		}
		return m
	}
	src, dst := list(mp), list(cloneMount+mp)
	// Mount points below mp show another file system's root in the source
	// (/proc, /srv, /boot/efi), their own directory in the clone.
	mounted := map[string]bool{}
	for _, m := range strings.Fields(vm.MustRun("findmnt -rno TARGET")) {
		if rel, ok := strings.CutPrefix(m, strings.TrimSuffix(mp, "/")+"/"); ok && m != mp {
			mounted["./"+rel] = true
		}
	}
	var diffs, tolerated []string
	for p, s := range src {
		d, ok := dst[p]
		if ok && d == s {
			continue
		}
		line := fmt.Sprintf("%s: source %q, clone %q", p, s, d)
		if p == "." || mounted[p] || isVolatile(mp, p, strings.HasPrefix(s, "d ")) {
			tolerated = append(tolerated, line)
			continue
		}
		diffs = append(diffs, line)
	}
	// What the live system hides under its mount points (/dev, /run) is in
	// the snapshot, so in the clone.
	below := func(p string) bool {
		for m := range mounted {
			if strings.HasPrefix(p, m+"/") {
				return true
			}
		}
		return false
	}
	for p := range dst {
		if _, ok := src[p]; !ok && !below(p) && !isVolatile(mp, p, false) {
			diffs = append(diffs, p+": only in the clone")
		}
	}
	slices.Sort(diffs)
	t.Logf("%s: %d entries compared, %d differ in volatile paths", mp, len(src), len(tolerated))
	if len(src) < 10 {
		t.Errorf("%s: only %d entries listed", mp, len(src))
	}
	if len(diffs) > 0 {
		t.Errorf("%s: %d entries differ between source and clone:\n%s", mp, len(diffs), strings.Join(diffs[:min(len(diffs), 40)], "\n"))
	}
}

package e2e

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// fsPlan is one file system of a layout: where it is mounted, what it is
// made of, and where the harness puts it.
type fsPlan struct {
	Point, FS, Label string
	UUID             string // ext4: a UUID; vfat: the volume ID as blkid shows it (ABCD-1234)
	Size             int64  // of an LV; a partition's size is known once the disk is partitioned
	Disk             string // serial of the disk of a partition, or
	Part             int    // its number (from 1)
	VG, LV           string // the logical volume it lives on
	Serial           string // LV file systems are built as images attached under this serial
}

// Dev is the file system's device in the builder VM.
func (p fsPlan) Dev() string {
	if p.LV != "" {
		return lvDev(p.VG, p.LV)
	}
	return partDev(p.Disk, p.Part)
}

// Source is how fstab names the file system.
func (p fsPlan) Source() string {
	if p.LV != "" {
		return lvDev(p.VG, p.LV)
	}
	return "UUID=" + p.UUID
}

func byID(serial string) string { return "/dev/disk/by-id/virtio-" + serial }

func partDev(serial string, n int) string { return fmt.Sprintf("%s-part%d", byID(serial), n) }

func lvDev(vg, lv string) string {
	return "/dev/mapper/" + strings.ReplaceAll(vg, "-", "--") + "-" + strings.ReplaceAll(lv, "-", "--")
}

// check reports what makes l unbuildable.
func (l Layout) check() error {
	if l.Name == "" || len(l.Disks) == 0 {
		return fmt.Errorf("layout %q: needs a name and at least one disk", l.Name)
	}
	if l.Release.Suite == "" {
		return fmt.Errorf("layout %s: no Debian release (Layout.On)", l.Name)
	}
	if l.Firmware != BIOS && l.Firmware != UEFI {
		return fmt.Errorf("layout %s: unknown firmware %q", l.Name, l.Firmware)
	}
	vgs := map[string]bool{}
	for _, vg := range l.VGs {
		vgs[vg.Name] = true
	}
	points := map[string]bool{}
	addFS := func(what, fs, mount string) error {
		if mount == "" {
			return nil
		}
		if fs != "ext4" && fs != "vfat" {
			return fmt.Errorf("layout %s: %s: the harness builds ext4 and vfat file systems, not %q", l.Name, what, fs)
		}
		if points[mount] {
			return fmt.Errorf("layout %s: two file systems are mounted on %s", l.Name, mount)
		}
		points[mount] = true
		return nil
	}
	for _, d := range l.Disks {
		for i, p := range d.Parts {
			what := fmt.Sprintf("partition %s of %s", p.Name, d.Serial)
			if p.Size == 0 && i != len(d.Parts)-1 {
				return fmt.Errorf("layout %s: %s has no size but is not the last", l.Name, what)
			}
			if p.Type == LVMPV && !vgs[p.VG] {
				return fmt.Errorf("layout %s: %s is a PV of VG %q, which the layout does not define", l.Name, what, p.VG)
			}
			if err := addFS(what, p.FS, p.Mount); err != nil {
				return err
			}
		}
	}
	for _, vg := range l.VGs {
		for _, lv := range vg.LVs {
			if err := addFS("LV "+vg.Name+"/"+lv.Name, lv.FS, lv.Mount); err != nil {
				return err
			}
		}
	}
	if !points["/"] {
		return fmt.Errorf("layout %s: no file system is mounted on /", l.Name)
	}
	return nil
}

// plan lists l's mounted file systems, parents before children, with new
// identities from newUUID (a random version 4 UUID each call).
func (l Layout) plan(newUUID func() string) ([]fsPlan, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	var ps []fsPlan
	uuid := func(fs string) string {
		u := newUUID()
		if fs == "vfat" {
			return strings.ToUpper(u[:4] + "-" + u[4:8])
		}
		return u
	}
	for _, d := range l.Disks {
		for i, p := range d.Parts {
			if p.Mount != "" {
				ps = append(ps, fsPlan{Point: p.Mount, FS: p.FS, Label: p.Label, UUID: uuid(p.FS), Disk: d.Serial, Part: i + 1})
			}
		}
	}
	n := 0
	for _, vg := range l.VGs {
		for _, lv := range vg.LVs {
			if lv.Mount != "" {
				ps = append(ps, fsPlan{Point: lv.Mount, FS: lv.FS, Label: lv.Label, UUID: uuid(lv.FS), Size: lv.Size,
					VG: vg.Name, LV: lv.Name, Serial: fmt.Sprintf("drdlv%d", n)})
				n++
			}
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Point < ps[j].Point })
	return ps, nil
}

// fstab is the installed system's /etc/fstab.
func fstab(l Layout, ps []fsPlan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# /etc/fstab of drd-e2e layout %s, written by the harness\n", l.Name)
	for _, p := range ps {
		opts, pass := "defaults", 2
		switch {
		case p.Point == "/":
			opts, pass = "errors=remount-ro", 1
		case p.FS == "vfat":
			opts, pass = "umask=0077", 1
		}
		fmt.Fprintf(&b, "%s %s %s %s 0 %d\n", p.Source(), p.Point, p.FS, opts, pass)
	}
	return b.String()
}

// marker is the content of /drd-e2e-fs.txt at the top of each file system,
// by which scenarios recognise file systems and their copies.
func marker(l Layout, p fsPlan) string {
	return fmt.Sprintf("drd-e2e layout %s: file system of %s\n", l.Name, p.Point)
}

// builderScript is what the builder VM runs after the host made the
// partitions and file systems: create the LVM volumes and copy the LV file
// systems into them, then install GRUB in the installed system.
func builderScript(l Layout, ps []fsPlan) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("#!/bin/sh")
	w("# Finishes drd-e2e layout %s: LVM, then GRUB.", l.Name)
	w("set -eu")
	w("lvmcfg='backup{backup=0 archive=0}'")
	w("step() { echo \"drd-e2e-build: $*\"; }")
	w("waitdev() { i=0; while [ ! -e \"$1\" ]; do i=$((i+1)); if [ $i -gt 300 ]; then echo \"drd-e2e-build: no $1 after 30 s\" >&2; exit 1; fi; sleep 0.1; done; }")
	for _, vg := range l.VGs {
		var pvs []string
		for _, d := range l.Disks {
			for i, p := range d.Parts {
				if p.Type == LVMPV && p.VG == vg.Name {
					w("waitdev %s", partDev(d.Serial, i+1))
					pvs = append(pvs, partDev(d.Serial, i+1))
				}
			}
		}
		pv := strings.Join(pvs, " ")
		w("step 'volume group %s'", vg.Name)
		w("pvcreate -ff -y --config \"$lvmcfg\" %s", pv)
		w("vgcreate --config \"$lvmcfg\" %s %s", vg.Name, pv)
		for _, lv := range vg.LVs {
			w("lvcreate --config \"$lvmcfg\" -y -W y -Z y -n %s -L %db %s", lv.Name, lv.Size, vg.Name)
		}
		w("udevadm settle")
	}
	for _, p := range ps {
		if p.LV == "" {
			continue
		}
		w("step 'copying %s into %s'", p.Point, p.Dev())
		w("waitdev %s && waitdev %s", byID(p.Serial), p.Dev())
		if p.FS == "ext4" {
			w("e2image -ra -p %s %s", byID(p.Serial), p.Dev())
		} else {
			w("dd if=%s of=%s bs=4M conv=sparse status=none", byID(p.Serial), p.Dev())
		}
	}
	w("step 'installing GRUB'")
	for _, p := range ps {
		w("waitdev %s && mkdir -p /run/target%s && mount %s /run/target%s", p.Dev(), p.Point, p.Dev(), p.Point)
	}
	w("mount --rbind /dev /run/target/dev && mount -t proc proc /run/target/proc && mount --rbind /sys /run/target/sys")
	w("mount -t tmpfs run /run/target/run && mkdir -p /run/target/run/udev /run/target/run/lvm")
	w("mount --bind /run/udev /run/target/run/udev && mount --bind /run/lvm /run/target/run/lvm")
	hasESP := false
	for _, p := range ps {
		hasESP = hasESP || p.Point == "/boot/efi"
	}
	if l.Firmware == BIOS {
		w("chroot /run/target grub-install --target=i386-pc %s", byID(l.Disks[0].Serial))
	} else {
		w("chroot /run/target grub-install --target=x86_64-efi --efi-directory=/boot/efi --bootloader-id=debian")
		w("chroot /run/target efibootmgr -v")
	}
	if hasESP {
		w("chroot /run/target grub-install --target=x86_64-efi --efi-directory=/boot/efi --removable --no-nvram")
	}
	w("chroot /run/target update-grub")
	if len(l.VGs) > 0 {
		w("chroot /run/target vgcfgbackup")
	}
	w("step 'finishing'")
	w("umount -R /run/target")
	for _, vg := range l.VGs {
		w("vgchange --config \"$lvmcfg\" -an %s", vg.Name)
	}
	w("sync")
	return b.String()
}

// depth orders mount points children first.
func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(path.Clean(p), "/")
}

// MountPoints lists where l's file systems are mounted, parents first.
func (l Layout) MountPoints() []string {
	ps, _ := l.plan(func() string { return "00000000-0000-4000-8000-000000000000" })
	var mps []string
	for _, p := range ps {
		mps = append(mps, p.Point)
	}
	return mps
}

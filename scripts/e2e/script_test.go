package e2e

import (
	"fmt"
	"strings"
	"testing"
)

func fakeUUIDs() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("%08x-0000-4000-8000-000000000000", n) }
}

func TestPlanAndFstab(t *testing.T) {
	ps, err := LayoutLVM.plan(fakeUUIDs())
	if err != nil {
		t.Fatal(err)
	}
	want := `# /etc/fstab of drd-e2e layout lvm, written by the harness
/dev/mapper/sysvg-root / ext4 errors=remount-ro 0 1
UUID=00000002-0000-4000-8000-000000000000 /boot ext4 defaults 0 2
UUID=0000-0001 /boot/efi vfat umask=0077 0 1
UUID=00000003-0000-4000-8000-000000000000 /home ext4 defaults 0 2
/dev/mapper/sysvg-var /var ext4 defaults 0 2
`
	if got := fstab(LayoutLVM, ps); got != want {
		t.Errorf("fstab:\n%s\nwant:\n%s", got, want)
	}
	if ps[0].Serial != "drdlv0" || ps[0].Size != 3*GiB || ps[2].Disk != SysSerial || ps[2].Part != 2 {
		t.Errorf("plan: %+v", ps)
	}
}

func TestBuilderScript(t *testing.T) {
	ps, _ := LayoutLVM.plan(fakeUUIDs())
	s := builderScript(LayoutLVM, ps)
	for _, want := range []string{
		"vgcreate --config \"$lvmcfg\" sysvg /dev/disk/by-id/virtio-drdsys-part4",
		"lvcreate --config \"$lvmcfg\" -y -W y -Z y -n var -L 1073741824b sysvg",
		"e2image -ra -p /dev/disk/by-id/virtio-drdlv0 /dev/mapper/sysvg-root",
		"grub-install --target=i386-pc /dev/disk/by-id/virtio-drdsys",
		"grub-install --target=x86_64-efi --efi-directory=/boot/efi --removable --no-nvram",
		"vgcfgbackup",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("builder script lacks %q:\n%s", want, s)
		}
	}
	// Parents are mounted before their children.
	if i, j := strings.Index(s, "mount /dev/disk/by-id/virtio-drdsys-part2 /run/target/boot/efi"), strings.Index(s, "mount /dev/disk/by-id/virtio-drdsys-part3 /run/target/boot\n"); i < 0 || j < 0 || i < j {
		t.Errorf("/boot/efi is not mounted after /boot:\n%s", s)
	}
	u, _ := LayoutUEFI.plan(fakeUUIDs())
	if s := builderScript(LayoutUEFI, u); !strings.Contains(s, "--bootloader-id=debian\n") || strings.Contains(s, "i386-pc") {
		t.Errorf("UEFI builder script:\n%s", s)
	}
}

func TestLayoutCheck(t *testing.T) {
	for _, c := range []struct {
		l    Layout
		want string
	}{
		{Layout{Name: "x", Release: Bookworm, Firmware: BIOS, Disks: []Disk{{Serial: "d", Parts: []Part{
			{Name: "a", Type: Linux, FS: "ext4", Mount: "/"}, {Name: "b", Type: Linux, Size: MiB}}}}}, "not the last"},
		{Layout{Name: "x", Release: Bookworm, Firmware: BIOS, Disks: []Disk{{Serial: "d", Parts: []Part{
			{Name: "a", Type: LVMPV, VG: "nope"}}}}}, "does not define"},
		{Layout{Name: "x", Release: Bookworm, Firmware: BIOS, Disks: []Disk{{Serial: "d", Parts: []Part{
			{Name: "a", Type: Linux, FS: "xfs", Mount: "/"}}}}}, "not \"xfs\""},
		{Layout{Name: "x", Release: Bookworm, Firmware: UEFI, Disks: []Disk{{Serial: "d", Parts: []Part{
			{Name: "a", Type: Linux, FS: "ext4", Mount: "/home"}}}}}, "no file system is mounted on /"},
		{Layout{Name: "x", Firmware: BIOS, Disks: LayoutBIOS.Disks}, "no Debian release"},
	} {
		if err := c.l.check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("check() = %v, want an error with %q", err, c.want)
		}
	}
	for _, l := range onReleases(LayoutBIOS, LayoutLVM, LayoutUEFI) {
		if err := l.check(); err != nil {
			t.Error(err)
		}
	}
}

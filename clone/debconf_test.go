package clone

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv/grub"
)

const debconfSample = `Name: grub-pc/install_devices
Template: grub-pc/install_devices
Value: /dev/disk/by-id/virtio-drdsys
Owners: grub-pc
Flags: seen

Name: grub-pc/install_devices_disks_changed
Template: grub-pc/install_devices_disks_changed
Value: /dev/disk/by-id/virtio-drdsys
Owners: grub-pc

`

func TestSetDebconfValue(t *testing.T) {
	out, changed := grub.SetDebconfValue([]byte(debconfSample), "grub-pc/install_devices", "/dev/disk/by-id/virtio-drdtarget")
	if !changed {
		t.Fatal("not changed")
	}
	want := strings.Replace(debconfSample, "Value: /dev/disk/by-id/virtio-drdsys", "Value: /dev/disk/by-id/virtio-drdtarget", 1)
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	if _, changed := grub.SetDebconfValue(out, "grub-pc/install_devices", "/dev/disk/by-id/virtio-drdtarget"); changed {
		t.Error("setting the same value again changed the file")
	}
	unset := "Name: grub-pc/install_devices\nTemplate: grub-pc/install_devices\nOwners: grub-pc\n\n"
	if out, changed := grub.SetDebconfValue([]byte(unset), "grub-pc/install_devices", "/dev/sdb"); changed || string(out) != unset {
		t.Errorf("an unset question got a value:\n%s", out)
	}
}

func TestStableDiskName(t *testing.T) {
	dev := t.TempDir()
	byID := filepath.Join(dev, "disk/by-id")
	os.MkdirAll(byID, 0o755)
	for _, f := range []string{"vdb", "vdb1", "sda"} {
		os.WriteFile(filepath.Join(dev, f), nil, 0o600)
	}
	for link, target := range map[string]string{
		"virtio-drdtarget":       "../../vdb",
		"virtio-drdtarget-part1": "../../vdb1",
		"wwn-0x5000c500a1b2c3d4": "../../vdb",
		"ata-QEMU_HARDDISK_QM1":  "../../sda",
		"lvm-pv-uuid-abc":        "../../vdb",
	} {
		os.Symlink(target, filepath.Join(byID, link))
	}
	if got := stableDiskName(dev, filepath.Join(dev, "vdb")); got != "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4" {
		t.Errorf("vdb: %q, want its wwn- name", got)
	}
	if got := stableDiskName(dev, filepath.Join(dev, "sda")); got != "/dev/disk/by-id/ata-QEMU_HARDDISK_QM1" {
		t.Errorf("sda: %q", got)
	}
	os.WriteFile(filepath.Join(dev, "loop3"), nil, 0o600)
	if got := stableDiskName(dev, filepath.Join(dev, "loop3")); got != "" {
		t.Errorf("loop3: %q, want none", got)
	}
}

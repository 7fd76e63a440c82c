package runcmd

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/bootenv/grub"
)

func TestInstallDevices(t *testing.T) {
	root := t.TempDir()
	if got := installDevices(root); got != nil {
		t.Errorf("no debconf: %q", got)
	}
	data, err := os.ReadFile("testdata/debconf-config.dat")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "var/cache/debconf"), 0o755)
	os.WriteFile(filepath.Join(root, "var/cache/debconf/config.dat"), data, 0o644)
	want := []string{"/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001", "/dev/sdb"}
	if got := installDevices(root); !reflect.DeepEqual(got, want) {
		t.Errorf("install devices %q, want %q", got, want)
	}
	for name, want := range map[string]string{
		"grub-pc/hidden_timeout":                "false",
		"grub-pc/install_devices_disks_changed": "/dev/vda",
		"grub-pc/install_devices_empty":         "",
		"grub-pc":                               "",
	} {
		if got := grub.DebconfValue(data, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestBootLoaderWanted(t *testing.T) {
	for _, c := range []struct {
		skipped []string
		changes []bootenv.PackageChange
		want    string
	}{
		{nil, nil, ""},
		{[]string{"update-grub"}, nil, ""},
		{[]string{"update-grub", "grub-install --target=i386-pc --force /dev/sda"}, nil, "the command ran grub-install --target=i386-pc --force /dev/sda"},
		{nil, []bootenv.PackageChange{{Package: "nginx", From: "1", To: "2"}}, ""},
		{nil, []bootenv.PackageChange{{Package: "grub-pc-bin", From: "2.06-13", To: "2.06-13+deb12u1"}}, "changed grub-pc-bin 2.06-13 -> 2.06-13+deb12u1"},
		{nil, []bootenv.PackageChange{{Package: "grub-efi-amd64-signed", To: "1+2.06"}}, "installed grub-efi-amd64-signed 1+2.06"},
		{nil, []bootenv.PackageChange{{Package: "grub-pc", From: "2.06"}}, ""}, // removed: nothing to install
		{nil, []bootenv.PackageChange{{Package: "grub-pcx", To: "1"}}, ""},
	} {
		if got := bootLoaderWanted(c.skipped, c.changes); got != c.want {
			t.Errorf("bootLoaderWanted(%q, %v) = %q, want %q", c.skipped, c.changes, got, c.want)
		}
	}
}

func TestGrubCfgStale(t *testing.T) {
	for _, c := range []struct {
		skipped []string
		changes []bootenv.PackageChange
		want    string
	}{
		{nil, nil, ""},
		{[]string{"grub-install --target=i386-pc /dev/sda"}, nil, ""},
		{[]string{"grub-install /dev/sda", "update-grub"}, nil, "the command ran update-grub"},
		{nil, []bootenv.PackageChange{{Package: "nginx", From: "1", To: "2"}}, ""},
		// Debian 13: no hook called update-grub, a kernel came.
		{nil, []bootenv.PackageChange{{Package: "linux-image-6.12.117+deb13-cloud-amd64", To: "6.12.117-1"}}, "installed linux-image-6.12.117+deb13-cloud-amd64 6.12.117-1"},
		{nil, []bootenv.PackageChange{{Package: "linux-image-6.1.0-28-amd64", From: "6.1.119-1"}}, "removed linux-image-6.1.0-28-amd64 6.1.119-1"},
		{nil, []bootenv.PackageChange{{Package: "linux-headers-6.1.0-28-amd64", To: "6.1.119-1"}}, ""},
	} {
		if got := grubCfgStale(c.skipped, c.changes); got != c.want {
			t.Errorf("grubCfgStale(%q, %v) = %q, want %q", c.skipped, c.changes, got, c.want)
		}
	}
}

func TestPlanBootDevices(t *testing.T) {
	s := Plan(PlanInput{Root: "/mnt/x", Image: "sysimage_001", Argv: []string{"dpkg", "-i", "x.deb"}, Staging: true,
		BootDevices: []string{"/dev/disk/by-id/virtio-drdsys", "/dev/sda", "/etc/passwd"}})
	var got []string
	for _, m := range s.Mounts {
		if (m.Kind == KindDir || m.Kind == KindWrite) && len(m.Target) > 5 && m.Target[:5] == "/dev/" && m.Target != "/dev/pts" && m.Target != "/dev/shm" {
			got = append(got, m.Kind+" "+m.Target)
		}
	}
	want := []string{"dir /dev/disk", "dir /dev/disk/by-id", "write /dev/disk/by-id/virtio-drdsys", "write /dev/sda"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("steps for the boot devices %q, want %q", got, want)
	}
	if s.Path != "/run/drd/bin:"+jailPath {
		t.Errorf("PATH %s: drd's shims are not first", s.Path)
	}
}

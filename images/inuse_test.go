package images

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const sampleMountInfo = `22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/mapper/vg-root rw
23 22 254:2 / /boot rw,relatime shared:2 - ext4 /dev/vda2 rw
24 23 254:1 / /boot/efi rw,relatime shared:3 - vfat /dev/vda1 rw,fmask=0077
25 22 0:44 / /mnt/my\040data rw,relatime shared:4 - btrfs /dev/loop0p2 rw,space_cache=v2
26 22 0:5 / /dev rw,nosuid shared:5 - devtmpfs udev rw,size=4000k
27 22 0:21 / /proc rw shared:6 - proc proc rw
`

const sampleSwaps = `Filename				Type		Size		Used		Priority
/dev/md127                              partition	1046524		0		-2
/swap\040file                               file		1024		0		-3
`

func TestParseSwaps(t *testing.T) {
	sw := parseSwaps([]byte(sampleSwaps))
	if want := []swapEntry{{"/dev/md127", "partition"}, {"/swap file", "file"}}; !reflect.DeepEqual(sw, want) {
		t.Errorf("parseSwaps = %v, want %v", sw, want)
	}
}

func TestInUse(t *testing.T) {
	sys := sampleSys(t)
	sys.disk("pci0000:00/0000:00:05.0/virtio2", "vdb", 254, 16, 2097152).
		part("vdb", "vdb1", 1, 254, 17, 2048, 1000000).
		disk("virtual", "loop1", 7, 1, 2048).
		attr("loop1", "loop/backing_file", "/dev/vdb1")
	proc := t.TempDir()
	os.MkdirAll(filepath.Join(proc, "self"), 0o755)
	os.WriteFile(filepath.Join(proc, "self", "mountinfo"), []byte(sampleMountInfo), 0o644)
	os.WriteFile(filepath.Join(proc, "swaps"), []byte(sampleSwaps), 0o644)

	tests := []struct {
		dev  string
		want []string
	}{
		{"vda", []string{
			"vda1 is mounted on /boot/efi (vfat)",
			"vda2 is mounted on /boot (ext4)",
			"vda3 is held by dm-0 (vg-root), device-mapper (LVM, crypt)",
			"dm-0 (vg-root) is mounted on / (ext4)",
			"dm-0 (vg-root) backs loop0 with /var/tmp/disk img.raw",
		}},
		{"vda3", []string{
			"vda3 is held by dm-0 (vg-root), device-mapper (LVM, crypt)",
			"dm-0 (vg-root) is mounted on / (ext4)",
			"dm-0 (vg-root) backs loop0 with /var/tmp/disk img.raw",
		}},
		{"nvme0n1", []string{
			"nvme0n1p1 is held by md127, RAID",
			"md127 is active swap",
		}},
		{"loop0", []string{"loop0p2 is mounted on /mnt/my data (btrfs)"}},
		{"vdb", []string{"vdb1 is the backing device of loop1"}},
		{"loop1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.dev, func(t *testing.T) {
			d, err := DeviceByName(sys.root, tt.dev)
			if err != nil {
				t.Fatal(err)
			}
			got, err := InUse(sys.root, proc, d)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("InUse(%s) =\n  %s\nwant\n  %s", tt.dev, strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
	if _, err := InUse(sys.root, t.TempDir(), Device{Name: "vda"}); err == nil {
		t.Errorf("InUse without mountinfo: no error")
	}
}

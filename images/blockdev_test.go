package images

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

func TestDevices(t *testing.T) {
	sys := sampleSys(t)
	devs, err := Devices(sys.root)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Device{}
	var names []string
	for _, d := range devs {
		byName[d.Name] = d
		names = append(names, d.Name)
	}
	wantNames := []string{"dm-0", "loop0", "loop0p1", "loop0p2", "md127", "nvme0n1", "nvme0n1p1", "vda", "vda1", "vda2", "vda3"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("names = %v, want %v", names, wantNames)
	}
	tests := []Device{
		{Name: "vda", Path: "/dev/vda", Major: 254, Disk: "vda", Size: 41943040 * 512},
		{Name: "vda3", Path: "/dev/vda3", Major: 254, Minor: 3, Disk: "vda", Partition: 3,
			Start: 1052672 * 512, Size: 40888320 * 512, Holders: []string{"dm-0"}},
		{Name: "nvme0n1", Path: "/dev/nvme0n1", Major: 259, Disk: "nvme0n1", Size: 2097152 * 512, ReadOnly: true},
		{Name: "nvme0n1p1", Path: "/dev/nvme0n1p1", Major: 259, Minor: 1, Disk: "nvme0n1", Partition: 1,
			Start: 2048 * 512, Size: 2095104 * 512, Holders: []string{"md127"}},
		{Name: "loop0", Path: "/dev/loop0", Major: 7, Disk: "loop0", Size: 204800 * 512, BackingFile: "/var/tmp/disk img.raw"},
		{Name: "loop0p2", Path: "/dev/loop0p2", Major: 259, Minor: 3, Disk: "loop0", Partition: 2,
			Start: 67584 * 512, Size: 135168 * 512},
		{Name: "dm-0", Path: "/dev/dm-0", Major: 253, Disk: "dm-0", Size: 20971520 * 512},
	}
	for _, want := range tests {
		t.Run(want.Name, func(t *testing.T) {
			if got := byName[want.Name]; !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestPartitionTornDown: a partition deleted while Devices or Partitions
// reads it answers ENODEV (here: ENXIO, a socket's open) for its
// attributes until its directory goes: it is left out as one gone
// already, not an error (seen when another program's probe held the
// partition a clone's HidePartitions deleted).
func TestPartitionTornDown(t *testing.T) {
	sys := newFakeSys(t).disk("virtual", "loop7", 7, 7, 204800).
		part("loop7", "loop7p1", 1, 259, 1, 2048, 2048).
		part("loop7", "loop7p3", 3, 259, 3, 4096, 2048)
	p := filepath.Join(sys.root, sys.dirs["loop7p3"], "ro")
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Skipf("no unix socket: %v", err)
	}
	defer l.Close()
	parts, err := Partitions(sys.root, "loop7")
	if err != nil || len(parts) != 1 || parts[0].Name != "loop7p1" {
		t.Errorf("Partitions = %+v, %v; want loop7p1 alone", parts, err)
	}
	devs, err := Devices(sys.root)
	if err != nil || len(devs) != 2 {
		t.Errorf("Devices = %+v, %v; want loop7 and loop7p1", devs, err)
	}
	if _, err := DeviceByName(sys.root, "loop7p3"); !errors.Is(err, ErrNoDevice) {
		t.Errorf("DeviceByName(loop7p3) = %v, want ErrNoDevice", err)
	}
}

// TestDevicesLoopDetaching: a loop device detached while Devices reads it
// answers ENXIO for its backing_file (here: a socket, which open answers
// with ENXIO too): it is listed without a backing file, not an error.
func TestDevicesLoopDetaching(t *testing.T) {
	sys := newFakeSys(t).disk("virtual", "loop5", 7, 5, 2048)
	p := filepath.Join(sys.root, sys.dirs["loop5"], "loop", "backing_file")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Skipf("no unix socket: %v", err)
	}
	defer l.Close()
	devs, err := Devices(sys.root)
	if err != nil || len(devs) != 1 || devs[0].BackingFile != "" {
		t.Errorf("Devices = %+v, %v; want loop5 without a backing file", devs, err)
	}
}

func TestDeviceByNumber(t *testing.T) {
	sys := sampleSys(t)
	tests := []struct {
		major, minor uint32
		name, disk   string
		partition    int
	}{
		{254, 2, "vda2", "vda", 2},
		{259, 1, "nvme0n1p1", "nvme0n1", 1},
		{259, 3, "loop0p2", "loop0", 2},
		{7, 0, "loop0", "loop0", 0},
	}
	for _, tt := range tests {
		d, err := DeviceByNumber(sys.root, tt.major, tt.minor)
		if err != nil {
			t.Fatal(err)
		}
		if d.Name != tt.name || d.Disk != tt.disk || d.Partition != tt.partition {
			t.Errorf("%d:%d = %s disk %s part %d, want %s disk %s part %d",
				tt.major, tt.minor, d.Name, d.Disk, d.Partition, tt.name, tt.disk, tt.partition)
		}
	}
	if _, err := DeviceByNumber(sys.root, 8, 0); !errors.Is(err, ErrNoDevice) {
		t.Errorf("8:0: err = %v, want ErrNoDevice", err)
	}
}

func TestPartitions(t *testing.T) {
	sys := sampleSys(t)
	tests := []struct {
		disk string
		want []string
		bad  bool
	}{
		{disk: "vda", want: []string{"vda1", "vda2", "vda3"}},
		{disk: "loop0", want: []string{"loop0p1", "loop0p2"}},
		{disk: "dm-0"},
		{disk: "vda2", bad: true},
		{disk: "sdz", bad: true},
	}
	for _, tt := range tests {
		parts, err := Partitions(sys.root, tt.disk)
		if (err != nil) != tt.bad {
			t.Errorf("Partitions(%s): err = %v, want error %v", tt.disk, err, tt.bad)
			continue
		}
		var names []string
		for _, p := range parts {
			names = append(names, p.Name)
		}
		if !reflect.DeepEqual(names, tt.want) {
			t.Errorf("Partitions(%s) = %v, want %v", tt.disk, names, tt.want)
		}
	}
}

// TestDeviceByPath makes device nodes and a by-uuid style link in a
// temporary directory (mknod needs root) and resolves them through the
// fixture sysfs.
func TestDeviceByPath(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mknod needs root")
	}
	sys := sampleSys(t)
	dev := t.TempDir()
	node := filepath.Join(dev, "vda2")
	if err := unix.Mknod(node, unix.S_IFBLK|0o600, int(unix.Mkdev(254, 2))); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dev, "by-uuid", "1234-ABCD")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../vda2", link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{node, link} {
		d, err := DeviceByPath(sys.root, p)
		if err != nil {
			t.Fatal(err)
		}
		if d.Name != "vda2" || d.Disk != "vda" {
			t.Errorf("DeviceByPath(%s) = %s on %s, want vda2 on vda", p, d.Name, d.Disk)
		}
	}
	if _, err := DeviceByPath(sys.root, sys.root); err == nil {
		t.Errorf("DeviceByPath(directory): no error")
	}
}

// TestDevicesLive reads this machine's own sysfs (read only) and checks
// that every partition names a disk that exists.
func TestDevicesLive(t *testing.T) {
	if _, err := os.Stat("/sys/class/block"); err != nil {
		t.Skip("no sysfs")
	}
	devs, err := Devices("/sys")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, d := range devs {
		names[d.Name] = true
	}
	for _, d := range devs {
		if !names[d.Disk] {
			t.Errorf("%s: disk %q is not a block device", d.Name, d.Disk)
		}
		if (d.Disk == d.Name) == d.IsPartition() {
			t.Errorf("%s: disk %s, partition %d", d.Name, d.Disk, d.Partition)
		}
	}
}

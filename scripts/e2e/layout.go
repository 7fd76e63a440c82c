package e2e

// Firmware a VM boots with.
type Firmware string

// The firmwares.
const (
	BIOS Firmware = "bios" // SeaBIOS, GRUB i386-pc in a BIOS-boot partition
	UEFI Firmware = "uefi" // OVMF, GRUB x86_64-efi on the ESP, NVRAM kept per VM
)

// PartType is the GPT type of a partition.
type PartType string

// GPT partition types, as sfdisk takes them.
const (
	BIOSBoot PartType = "21686148-6449-6E6F-744E-656564454649"
	ESP      PartType = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
	Linux    PartType = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
	LVMPV    PartType = "E6D6D379-F507-44C2-A23C-238F2A3DF928"
)

// MiB and GiB are sizes in bytes.
const (
	MiB int64 = 1 << 20
	GiB int64 = 1 << 30
)

// Layout is how a system is laid out on its disks. The first disk is the
// system disk, the one the firmware boots.
type Layout struct {
	Name     string
	Firmware Firmware
	Disks    []Disk
	VGs      []VG
	// Release is the Debian release installed. It is left out of the
	// layout's JSON, which is part of its cache key: the release is in the
	// key by its base system, and the keys of Debian 12's layouts stay
	// those they had before there was a choice.
	Release Release `json:"-"`
}

// Disk is one raw disk image with a GPT.
type Disk struct {
	Serial string // virtio serial: the guest sees /dev/disk/by-id/virtio-<Serial>
	Size   int64
	Parts  []Part
}

// Part is one partition.
type Part struct {
	Name  string // GPT partition name
	Type  PartType
	Size  int64  // 0: the rest of the disk (last partition only)
	FS    string // ext4, xfs, vfat; "" for none
	Label string // file system label
	Mount string // mount point in the installed system; "" for none
	VG    string // for an LVM physical volume: the volume group
}

// VG is an LVM volume group made of the partitions whose VG names it.
type VG struct {
	Name string
	LVs  []LV
}

// LV is a logical volume.
type LV struct {
	Name  string
	Size  int64
	FS    string
	Label string
	Mount string
}

// Disk serials of the standard layouts and VMs.
const (
	SysSerial    = "drdsys"    // system disk
	HomeSerial   = "drdhome"   // second disk: /home, a shared file system
	TargetSerial = "drdtarget" // empty disk, the clone target
	ToolsSerial  = "drdtools"  // squashfs with the agent, drd and .debs
)

func homeDisk() Disk {
	return Disk{Serial: HomeSerial, Size: 1 * GiB, Parts: []Part{
		{Name: "home", Type: Linux, FS: "ext4", Label: "home", Mount: "/home"},
	}}
}

// LayoutBIOS, LayoutLVM and LayoutUEFI are on Debian 12; Layout.On
// makes the same on another release (LayoutBIOS13 ...).

// LayoutBIOS is issue 3's layout (a): BIOS and GRUB on GPT with a BIOS-boot
// partition, an ESP, /boot and / on ext4, and /home on a second disk.
var LayoutBIOS = Layout{
	Name:     "bios",
	Release:  Bookworm,
	Firmware: BIOS,
	Disks: []Disk{{Serial: SysSerial, Size: 6 * GiB, Parts: []Part{
		{Name: "biosboot", Type: BIOSBoot, Size: 1 * MiB},
		{Name: "esp", Type: ESP, Size: 128 * MiB, FS: "vfat", Label: "ESP", Mount: "/boot/efi"},
		{Name: "boot", Type: Linux, Size: 512 * MiB, FS: "ext4", Label: "boot", Mount: "/boot"},
		{Name: "root", Type: Linux, FS: "ext4", Label: "root", Mount: "/"},
	}}, homeDisk()},
}

// LayoutLVM is layout (b): as LayoutBIOS, with / and /var on LVM.
var LayoutLVM = Layout{
	Name:     "lvm",
	Release:  Bookworm,
	Firmware: BIOS,
	Disks: []Disk{{Serial: SysSerial, Size: 6 * GiB, Parts: []Part{
		{Name: "biosboot", Type: BIOSBoot, Size: 1 * MiB},
		{Name: "esp", Type: ESP, Size: 128 * MiB, FS: "vfat", Label: "ESP", Mount: "/boot/efi"},
		{Name: "boot", Type: Linux, Size: 512 * MiB, FS: "ext4", Label: "boot", Mount: "/boot"},
		{Name: "pv", Type: LVMPV, VG: "sysvg"},
	}}, homeDisk()},
	VGs: []VG{{Name: "sysvg", LVs: []LV{
		{Name: "root", Size: 3 * GiB, FS: "ext4", Label: "root", Mount: "/"},
		{Name: "var", Size: 1 * GiB, FS: "ext4", Label: "var", Mount: "/var"},
	}}},
}

// LayoutUEFI is layout (c): UEFI and GRUB booted by OVMF, with an ESP, /boot
// and / on ext4, and /home on a second disk.
var LayoutUEFI = Layout{
	Name:     "uefi",
	Release:  Bookworm,
	Firmware: UEFI,
	Disks: []Disk{{Serial: SysSerial, Size: 6 * GiB, Parts: []Part{
		{Name: "esp", Type: ESP, Size: 128 * MiB, FS: "vfat", Label: "ESP", Mount: "/boot/efi"},
		{Name: "boot", Type: Linux, Size: 512 * MiB, FS: "ext4", Label: "boot", Mount: "/boot"},
		{Name: "root", Type: Linux, FS: "ext4", Label: "root", Mount: "/"},
	}}, homeDisk()},
}

// The layouts on Debian 13: bios-13, lvm-13, uefi-13.
var (
	LayoutBIOS13 = LayoutBIOS.On(Trixie)
	LayoutLVM13  = LayoutLVM.On(Trixie)
	LayoutUEFI13 = LayoutUEFI.On(Trixie)
)

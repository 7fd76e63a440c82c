package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// OVMF firmware files of Debian's ovmf package (4 MiB flash, no Secure Boot).
const (
	ovmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	ovmfVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
)

// drive is one virtio disk.
type drive struct {
	File     string
	Format   string // raw, qcow2
	Serial   string
	ReadOnly bool
	Boot     bool // BIOS: the firmware boots it first (see qemuArgs for UEFI)
	Slot     int  // PCI slot; 0: firstDriveSlot + its place in Drives
}

// firstDriveSlot is the PCI slot of the first drive. Drives have fixed
// slots, as disks of a real machine do: when a disk is pulled out
// (restartWithout), the others keep their PCI paths, which UEFI boot
// entries name.
const firstDriveSlot = 0x10

// slot is the PCI slot of the drive at index i of m.Drives.
func (m machine) slot(i int) int {
	if m.Drives[i].Slot != 0 {
		return m.Drives[i].Slot
	}
	return firstDriveSlot + i
}

// machine is what one QEMU process is started with.
type machine struct {
	Name     string
	Firmware Firmware
	Vars     string // OVMF variables file of this VM (UEFI)
	Kernel   string // direct kernel boot: kernel, initrd and command line
	Initrd   string
	Append   string
	Drives   []drive
	MemMiB   int
	CPUs     int
	NoReboot bool // a guest reboot ends QEMU
	Network  bool // a virtio NIC on QEMU's user network (no option ROM)
	SSHPort  int  // with Network: this host port on 127.0.0.1 forwards to the guest's port 22

	Serial, Agent, QMP string // unix sockets: console, agent port ("" for none), monitor
}

// qemuArgs returns the command line that starts m. The serial socket waits
// for the harness to connect, so no console byte is lost.
func qemuArgs(m machine) []string {
	a := []string{
		"-name", m.Name,
		"-machine", "q35", "-accel", "tcg",
		"-m", strconv.Itoa(m.MemMiB), "-smp", strconv.Itoa(m.CPUs),
		"-nodefaults", "-no-user-config", "-display", "none",
		"-chardev", "socket,id=ser0,path=" + m.Serial + ",server=on,wait=on",
		"-serial", "chardev:ser0",
		"-qmp", "unix:" + m.QMP + ",server=on,wait=off",
		"-device", "virtio-rng-pci",
	}
	a = append(a, netArgs(m)...)
	if m.Firmware == UEFI {
		a = append(a,
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+ovmfCode,
			"-drive", "if=pflash,format=raw,unit=1,file="+m.Vars)
	}
	if m.Kernel != "" {
		a = append(a, "-kernel", m.Kernel, "-initrd", m.Initrd, "-append", m.Append)
	}
	if m.NoReboot {
		a = append(a, "-no-reboot")
	}
	if m.Agent != "" {
		a = append(a,
			"-device", "virtio-serial-pci,id=vser",
			"-chardev", "socket,id=agent,path="+m.Agent+",server=on,wait=off",
			"-device", "virtserialport,bus=vser.0,chardev=agent,name=drd.agent")
	}
	for i, d := range m.Drives {
		opts := []string{"file=" + d.File, "if=none", fmt.Sprintf("id=d%d", i), "format=" + d.Format, "cache=unsafe", "discard=unmap"}
		if d.ReadOnly {
			opts = append(opts, "readonly=on")
		}
		dev := fmt.Sprintf("virtio-blk-pci,drive=d%d,serial=%s,addr=0x%x", i, d.Serial, m.slot(i))
		// A bootindex makes OVMF, at every boot, connect only the disks
		// with one, rewrite BootOrder to QEMU's order and delete the
		// Boot#### entries of other disks (QemuBootOrderLib). A real
		// UEFI machine goes by its NVRAM's BootOrder, so UEFI VMs get
		// none and OVMF connects every disk.
		if d.Boot && m.Firmware != UEFI {
			dev += ",bootindex=0"
		}
		a = append(a, "-drive", strings.Join(opts, ","), "-device", dev)
	}
	return a
}

// cpus is the number of virtual CPUs of each VM: one, unless
// DRD_E2E_CPUS says otherwise. With two, QEMU 7.2's multi-threaded TCG
// now and then runs a stale translation of kernel text the guest has just
// patched, and the guest dies of "Oops: int3" (TestGuestCodePatching).
// About one Debian 13 boot in twenty died so in CI.
func cpus() int {
	if n, err := strconv.Atoi(os.Getenv(EnvCPUs)); err == nil && n > 0 {
		return n
	}
	return 1
}

// netArgs gives m its NIC, or none. The NIC has no option ROM, so that no
// firmware tries a network boot before the disks.
func netArgs(m machine) []string {
	if !m.Network {
		return []string{"-nic", "none"}
	}
	user := "user,id=net0"
	if m.SSHPort != 0 {
		user += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-:22", m.SSHPort)
	}
	return []string{"-netdev", user, "-device", "virtio-net-pci,netdev=net0,romfile=,addr=0x8"}
}

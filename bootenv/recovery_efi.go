package bootenv

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv/efi"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/report"
)

// STAGEISL on UEFI without GRUB: the kernel (an EFI stub), the ISL and
// the modules on each image's ESP, and a Boot#### per ESP that starts the
// kernel with both initramfs files (initrd=, the stub loads them one
// after the other), at the end of BootOrder.
const RecoveryEFIDir = `\EFI\drd`

// recoveryESPFiles are the names on the ESP of the files of STAGEISL.
var recoveryESPFiles = map[string]string{RecoveryKernel: "vmlinuz.efi", RecoveryISL: "isl.img", RecoveryModules: "modules.img"}

// RecoveryLoadOptions is the kernel command line of STAGEISL's Boot####.
func RecoveryLoadOptions(cmdline string) string {
	s := "initrd=" + RecoveryEFIDir + `\` + recoveryESPFiles[RecoveryISL] + " initrd=" + RecoveryEFIDir + `\` + recoveryESPFiles[RecoveryModules]
	if cmdline != "" {
		s += " " + cmdline
	}
	return s
}

// recoveryEntry is STAGEISL's Boot#### on the ESP hd of a disk.
func recoveryEntry(prefix []byte, hd efi.HardDrive, cmdline string) efi.LoadOption {
	return efi.LoadOption{Active: true, Description: RecoveryTitle, Prefix: prefix, Disk: hd,
		File: RecoveryEFIDir + `\` + recoveryESPFiles[RecoveryKernel], Optional: efi.UCS2(RecoveryLoadOptions(cmdline))}
}

// isRecoveryEntry reports whether a boot entry starts STAGEISL, not an
// image's own loader.
func isRecoveryEntry(e efi.LoadOption) bool {
	return strings.HasPrefix(strings.ToUpper(e.File), strings.ToUpper(RecoveryEFIDir+`\`))
}

// putRecoveryEntry writes STAGEISL's entry want: rewritten in place, or
// new and at the end of BootOrder unless it is in it already; never first.
func putRecoveryEntry(v efi.Vars, want efi.LoadOption) (uint16, error) {
	num, _, err := efi.PutEntry(v, want, -1)
	return num, err
}

// recoveryESP is an ESP STAGEISL goes on: its image, how to write to it,
// its partition for the boot entry.
type recoveryESP struct {
	img *Image
	esp espWriter
	hd  efi.HardDrive
}

// recoveryESPs finds the ESP of every image that has one, on a UEFI
// machine (none on BIOS), and checks that each has room. An ESP that
// cannot be reached is a warning (GRUB's entry still boots STAGEISL); an
// ESP without room is an error.
func (m Machine) recoveryESPs(st *Status, files map[string][]byte, r report.Reporter) ([]recoveryESP, error) {
	if m.EFI == nil {
		for _, img := range bootOrder(st) {
			if _, ok := fsOf(img, "/boot/efi"); ok {
				m.noEFIVars(r, "STAGEISL not on the ESPs, no boot entry for it (GRUB's menu entry boots it)")
				break
			}
		}
		return nil, nil
	}
	devs, err := ReadDevices(m.SysDir)
	if err != nil {
		return nil, err
	}
	mounts, _ := ReadMountinfo(m.ProcDir)
	var out []recoveryESP
	for _, img := range bootOrder(st) {
		f, ok := fsOf(img, "/boot/efi")
		if !ok {
			continue
		}
		d, ok := devs.BySpec("UUID=" + f.UUID)
		if !ok {
			r.Warn("STAGEISL not on the ESP of %s (UUID=%s): on no block device", img.Name, f.UUID)
			continue
		}
		hd, err := m.espPartition(img)
		if err != nil {
			r.Warn("no firmware entry for STAGEISL on %s: %v", img.Name, err)
			continue
		}
		esp := espWriter{dev: d.Path, dir: mountedAt(mounts, d)}
		if err := esp.checkRoom(files); err != nil {
			return nil, fmt.Errorf("the ESP of %s (%s): %w", img.Name, d.Path, err)
		}
		out = append(out, recoveryESP{img: img, esp: esp, hd: hd})
	}
	return out, nil
}

// writeRecoveryESPs puts the files of STAGEISL into \EFI\drd of each ESP
// and its Boot#### (rewritten in place, else new and last in BootOrder).
func (m Machine) writeRecoveryESPs(esps []recoveryESP, files map[string][]byte, rec Recovery, r report.Reporter) error {
	for _, e := range esps {
		for _, name := range RecoveryFiles {
			if err := e.esp.write(recoveryESPFiles[name], files[name]); err != nil {
				return fmt.Errorf("writing STAGEISL to the ESP of %s (%s): %w", e.img.Name, e.esp.dev, err)
			}
		}
		want := recoveryEntry(DiskPrefix(m.SysDir, e.img.Disk), e.hd, rec.Cmdline)
		num, err := putRecoveryEntry(m.EFI, want)
		if err != nil {
			return fmt.Errorf("the boot entry of STAGEISL on the ESP of %s: %w", e.img.Name, err)
		}
		r.Note("%s: %s on %s; %s %q, last in BootOrder", e.img.Name, RecoveryEFIDir, e.esp.dev, efi.BootVar(num), RecoveryTitle)
	}
	return nil
}

// mountedAt is where d is mounted, or "".
func mountedAt(mounts []MountInfo, d BlockDev) string {
	for _, mi := range mounts {
		if mi.Major == d.Major && mi.Minor == d.Minor && mi.FSRoot == "/" {
			return mi.MountPoint
		}
	}
	return ""
}

// espWriter writes files into \EFI\drd of an ESP: through its mount when
// it is mounted (the kernel's vfat must see every change), else on the
// device with go-diskfs, as drd's other ESP writes.
type espWriter struct {
	dev, dir string
}

func (e espWriter) path(name string) string {
	return filepath.Join(e.dir, "EFI", "drd", name)
}

func (e espWriter) fatName(name string) string { return path.Join("EFI/drd", name) }

// checkRoom fails when the ESP has no room for files (what they replace
// counts as free).
func (e espWriter) checkRoom(files map[string][]byte) error {
	var free, old, size int64
	if e.dir != "" {
		var sfs unix.Statfs_t
		if err := unix.Statfs(e.dir, &sfs); err != nil {
			return err
		}
		free = int64(sfs.Bavail) * int64(sfs.Bsize)
	} else {
		var err error
		if free, err = images.FATFree(e.dev); err != nil {
			return err
		}
	}
	for name, data := range files {
		size += int64(len(data))
		if e.dir != "" {
			if fi, err := os.Stat(e.path(recoveryESPFiles[name])); err == nil {
				old += fi.Size()
			}
		} else if b, err := images.ReadFATFile(e.dev, e.fatName(recoveryESPFiles[name])); err == nil {
			old += int64(len(b))
		}
	}
	need := size - old + 1<<20
	if free < need {
		return fmt.Errorf("%w: %.1f MiB free, STAGEISL needs %.1f MiB: free some space on it, or boot STAGEISL from GRUB's menu only", errNoRoom, float64(free)/(1<<20), float64(need)/(1<<20))
	}
	return nil
}

// write writes the file name unless it has data already (go-diskfs
// rewrites a file in place: the fewer writes, the better).
func (e espWriter) write(name string, data []byte) error {
	if e.dir != "" {
		_, err := writeIfChanged(e.path(name), data, 0o644)
		return err
	}
	if old, err := images.ReadFATFile(e.dev, e.fatName(name)); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return images.WriteFATFile(e.dev, e.fatName(name), data)
}

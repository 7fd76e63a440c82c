package images

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// go-diskfs writes FAT32 file systems that the kernel reads but that
// fsck.fat finds fault with: ".." of a directory in the root points at
// the root's cluster instead of 0, empty files keep a cluster, and the
// FSInfo free-cluster count is left "unknown". fixFAT32 walks the file
// system the way fsck.fat does and puts these right, so that the ESPs drd
// writes check clean. It also frees clusters that no file uses and cuts
// cluster chains longer than their file, and refuses, before writing
// anything, a file system whose chains are broken.

// rawFile is what fixFAT32 needs of a device or image file.
type rawFile interface {
	io.ReaderAt
	io.WriterAt
}

// fat32Volume is a FAT32 file system read raw into memory: its boot
// parameters and its first FAT.
type fat32Volume struct {
	f        rawFile
	p        fatBPB
	fat      []uint32 // FAT entries, upper 4 bits masked off
	clusters uint32   // number of data clusters: valid are 2..clusters+1
	used     []bool   // by cluster number, reached from the root
	boot     []byte   // boot sector
}

const (
	fat32EOC  = 0x0ffffff8 // this and above: end of chain
	fat32Mask = 0x0fffffff
	fat32Bad  = 0x0ffffff7
)

func fixFAT32(f rawFile) error {
	v, err := readFAT32Volume(f)
	if err != nil {
		return err
	}
	fatChanged := false
	type write struct {
		off int64
		b   []byte
	}
	var writes []write                        // directory clusters to write once all is checked
	type dir struct{ cluster, parent uint32 } // parent 0 for a child of the root
	stack := []dir{{v.p.rootCluster, 0}}
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		chain, err := v.chain(d.cluster, true)
		if err != nil {
			return fmt.Errorf("directory at cluster %d: %w", d.cluster, err)
		}
		for _, c := range chain {
			b := make([]byte, v.p.clusterBytes())
			off := v.clusterOffset(c)
			if _, err := f.ReadAt(b, off); err != nil {
				return err
			}
			changed, subdirs, freed, end, err := v.fixEntries(b, d.cluster, d.parent)
			if err != nil {
				return fmt.Errorf("directory at cluster %d: %w", d.cluster, err)
			}
			fatChanged = fatChanged || freed
			self := d.cluster // what ".." of a subdirectory holds: 0 for the root
			if d.cluster == v.p.rootCluster {
				self = 0
			}
			for _, s := range subdirs {
				stack = append(stack, dir{s, self})
			}
			if changed {
				writes = append(writes, write{off, b})
			}
			if end {
				break
			}
		}
	}
	for c := uint32(2); c < v.clusters+2; c++ {
		if !v.used[c] && v.fat[c] != 0 && v.fat[c] != fat32Bad {
			v.fat[c] = 0 // lost cluster
			fatChanged = true
		}
	}
	for _, w := range writes {
		if _, err := f.WriteAt(w.b, w.off); err != nil {
			return err
		}
	}
	if fatChanged {
		if err := v.writeFATs(); err != nil {
			return err
		}
	}
	return v.writeFSInfo()
}

func readFAT32Volume(f rawFile) (*fat32Volume, error) {
	boot := make([]byte, 512)
	if _, err := f.ReadAt(boot, 0); err != nil {
		return nil, fmt.Errorf("reading boot sector: %w", err)
	}
	p, ok := parseFATBootSector(boot)
	if !ok || !p.fat32 {
		return nil, errors.New("not a FAT32 file system")
	}
	raw := make([]byte, int64(p.sectorsPerFAT)*int64(p.bytesPerSector))
	if _, err := f.ReadAt(raw, int64(p.reserved)*int64(p.bytesPerSector)); err != nil {
		return nil, fmt.Errorf("reading FAT: %w", err)
	}
	v := &fat32Volume{f: f, p: p, boot: boot}
	v.clusters = uint32((int64(p.totalSectors)*int64(p.bytesPerSector) - p.dataStart()) / p.clusterBytes())
	if max := uint32(len(raw) / 4); v.clusters+2 > max {
		v.clusters = max - 2
	}
	v.fat = make([]uint32, len(raw)/4)
	for i := range v.fat {
		v.fat[i] = binary.LittleEndian.Uint32(raw[4*i:]) & fat32Mask
	}
	v.used = make([]bool, v.clusters+2)
	return v, nil
}

func (v *fat32Volume) valid(c uint32) bool { return c >= 2 && c < v.clusters+2 }

func (v *fat32Volume) clusterOffset(c uint32) int64 {
	return v.p.dataStart() + int64(c-2)*v.p.clusterBytes()
}

// chain follows a cluster chain, marking it used when mark is set; a
// chain that leaves the volume, loops or joins another is an error.
func (v *fat32Volume) chain(start uint32, mark bool) ([]uint32, error) {
	var out []uint32
	for c := start; ; c = v.fat[c] {
		if !v.valid(c) {
			return nil, fmt.Errorf("cluster chain from %d reaches invalid cluster %#x", start, c)
		}
		if v.used[c] {
			return nil, fmt.Errorf("cluster chain from %d loops or is shared at cluster %d", start, c)
		}
		if mark {
			v.used[c] = true
		}
		out = append(out, c)
		if v.fat[c] >= fat32EOC {
			return out, nil
		}
	}
}

// fixEntries checks the entries of one directory cluster b of directory
// self (whose parent is parent, 0 for the root) and fixes them in b.
func (v *fat32Volume) fixEntries(b []byte, self, parent uint32) (changed bool, subdirs []uint32, fatChanged, end bool, err error) {
	for i := 0; i+32 <= len(b); i += 32 {
		e := b[i : i+32]
		attr := e[11]
		if e[0] == 0 {
			return changed, subdirs, fatChanged, true, nil
		}
		if e[0] == 0xe5 || attr&0x3f == 0x0f || attr&0x08 != 0 {
			continue // deleted, long-name part, volume label
		}
		start := uint32(binary.LittleEndian.Uint16(e[20:]))<<16 | uint32(binary.LittleEndian.Uint16(e[26:]))
		setStart := func(c uint32) {
			binary.LittleEndian.PutUint16(e[20:], uint16(c>>16))
			binary.LittleEndian.PutUint16(e[26:], uint16(c))
			changed = true
		}
		switch name := string(e[:11]); {
		case name == ".          ":
			if start != self {
				setStart(self)
			}
		case name == "..         ":
			if start != parent {
				setStart(parent)
			}
		case attr&0x10 != 0:
			subdirs = append(subdirs, start)
		default:
			size := int64(binary.LittleEndian.Uint32(e[28:]))
			if start == 0 {
				if size != 0 {
					return changed, subdirs, fatChanged, false, fmt.Errorf("file %q has %d bytes but no clusters", name, size)
				}
				continue
			}
			chain, err := v.chain(start, true)
			if err != nil {
				return changed, subdirs, fatChanged, false, fmt.Errorf("file %q: %w", name, err)
			}
			need := int((size + v.p.clusterBytes() - 1) / v.p.clusterBytes())
			if need > len(chain) {
				return changed, subdirs, fatChanged, false, fmt.Errorf("file %q has %d bytes but %d clusters", name, size, len(chain))
			}
			if need < len(chain) {
				for _, c := range chain[need:] {
					v.used[c] = false // freed below as lost
				}
				fatChanged = true
				if need == 0 {
					setStart(0)
				} else {
					v.fat[chain[need-1]] = fat32Mask
				}
			}
		}
	}
	return changed, subdirs, fatChanged, false, nil
}

// writeFATs writes the FAT to every copy, keeping the upper 4 bits of
// each entry as they are on disk.
func (v *fat32Volume) writeFATs() error {
	n := int64(v.p.sectorsPerFAT) * int64(v.p.bytesPerSector)
	for i := int64(0); i < int64(v.p.fats); i++ {
		off := int64(v.p.reserved)*int64(v.p.bytesPerSector) + i*n
		raw := make([]byte, n)
		if _, err := v.f.ReadAt(raw, off); err != nil {
			return fmt.Errorf("reading FAT %d: %w", i+1, err)
		}
		for c := range v.fat {
			old := binary.LittleEndian.Uint32(raw[4*c:])
			binary.LittleEndian.PutUint32(raw[4*c:], old&^fat32Mask|v.fat[c])
		}
		if _, err := v.f.WriteAt(raw, off); err != nil {
			return fmt.Errorf("writing FAT %d: %w", i+1, err)
		}
	}
	return nil
}

// writeFSInfo sets the free-cluster count and next-free hint of the
// FSInfo sector and of its backup.
func (v *fat32Volume) writeFSInfo() error {
	var free, next uint32 = 0, 0xffffffff
	for c := uint32(2); c < v.clusters+2; c++ {
		if v.fat[c] == 0 {
			free++
			if next == 0xffffffff {
				next = c
			}
		}
	}
	info := uint32(binary.LittleEndian.Uint16(v.boot[0x30:]))
	backup := uint32(binary.LittleEndian.Uint16(v.boot[0x32:]))
	sectors := []uint32{info}
	if backup != 0 && backup != 0xffff {
		sectors = append(sectors, backup+info)
	}
	for _, s := range sectors {
		off := int64(s) * int64(v.p.bytesPerSector)
		b := make([]byte, 512)
		if _, err := v.f.ReadAt(b, off); err != nil {
			return fmt.Errorf("reading FSInfo sector %d: %w", s, err)
		}
		if string(b[0:4]) != "RRaA" || string(b[484:488]) != "rrAa" {
			return fmt.Errorf("FSInfo sector %d has no signature", s)
		}
		binary.LittleEndian.PutUint32(b[488:], free)
		binary.LittleEndian.PutUint32(b[492:], next)
		if _, err := v.f.WriteAt(b, off); err != nil {
			return fmt.Errorf("writing FSInfo sector %d: %w", s, err)
		}
	}
	return nil
}

// fitClustersToFAT shrinks a new FAT32 volume so that its FAT has an entry
// for every cluster. go-diskfs sizes the FAT without its two reserved
// entries, and fsck.fat then says "Filesystem has N clusters but only
// space for N-2 FAT entries". Run it on a fresh volume only: the clusters
// it gives up must be free.
func fitClustersToFAT(f rawFile) error {
	for _, sector := range []int64{0, 6} { // the boot sector and its backup
		b := make([]byte, 512)
		if _, err := f.ReadAt(b, sector*512); err != nil {
			return err
		}
		bytesPerSector := int64(binary.LittleEndian.Uint16(b[0x0B:]))
		perCluster := int64(b[0x0D])
		reserved := int64(binary.LittleEndian.Uint16(b[0x0E:]))
		fats := int64(b[0x10])
		total := int64(binary.LittleEndian.Uint32(b[0x20:]))
		fatSectors := int64(binary.LittleEndian.Uint32(b[0x24:]))
		if bytesPerSector == 0 || perCluster == 0 {
			return fmt.Errorf("boot sector %d: not a FAT32 boot sector", sector)
		}
		maxClusters := fatSectors*bytesPerSector/4 - 2
		meta := reserved + fats*fatSectors
		if (total-meta)/perCluster <= maxClusters {
			return nil
		}
		binary.LittleEndian.PutUint32(b[0x20:], uint32(meta+maxClusters*perCluster))
		if _, err := f.WriteAt(b, sector*512); err != nil {
			return err
		}
	}
	return nil
}

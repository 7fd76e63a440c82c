package isl

import (
	"slices"
	"testing"
)

// FuzzParse: any line typed at the prompt is a command of the list, with
// an image name as its argument, or an error.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "status", "SET sysimage_001", "boot sysimage_0", "log", "set", "reboot now", "  list  ", "shell\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := Parse(line)
		if err != nil || c.Name == "" {
			return
		}
		if !slices.ContainsFunc(verbs, func(v verb) bool { return v.name == c.Name }) || c.Arg != "" && !validImageName(c.Arg) {
			t.Errorf("Parse(%q) = %+v", line, c)
		}
	})
}

// FuzzParseModuleIndex: the module index of a kernel in an image is read
// or refused, and a resolution lists each module file once, none empty,
// whatever cycles or dangling names it has.
func FuzzParseModuleIndex(f *testing.F) {
	f.Add([]byte("kernel/fs/ext4/ext4.ko: kernel/fs/mbcache.ko kernel/lib/crc16.ko\nkernel/fs/mbcache.ko:\nkernel/lib/crc16.ko:\n"),
		[]byte("# Aliases\nalias fs-ext4 ext4\nalias fs-ext3 ext4\nalias pci:v00008086d*sv*sd*bc01sc06i01* ahci\n"),
		[]byte("kernel/drivers/ata/ahci.ko\n"))
	f.Add([]byte("a.ko: b.ko\nb.ko: a.ko\n"), []byte("alias x* a\nalias [ b\n"), []byte(nil))
	f.Add([]byte("no colon\n"), []byte("alias\n"), []byte(""))
	f.Fuzz(func(t *testing.T, dep, alias, builtin []byte) {
		idx, err := ParseModuleIndex(dep, alias, builtin)
		if err != nil {
			return
		}
		res := idx.Resolve([]string{"ext4", "fs-ext3", "a", "x1"}, []string{"pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01"})
		seen := map[string]bool{}
		for _, file := range res.Files {
			if file == "" || seen[file] {
				t.Errorf("resolution %q", res.Files)
				break
			}
			seen[file] = true
		}
	})
}

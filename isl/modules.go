package isl

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
)

// The kernel modules the ISL needs to see its disks and file systems,
// resolved from the kernel's own modules.dep, modules.alias and
// modules.builtin (all pure: the caller reads the files and the
// machine's modaliases).

// CriticalModules are loaded in the ISL whatever the hardware: the
// disk controllers and file systems drd images are on. Names as
// modprobe takes them (- and _ are the same); a name may be an alias
// (ext2 is ext4's). crc32c comes first: ext4, jbd2 and libcrc32c (xfs)
// ask the crypto API for it at load (modules.softdep), not through
// modules.dep, and fail to load without it. efivarfs (a module in
// Debian's kernel) lets set change BootOrder on UEFI; on a BIOS machine
// it refuses to load (ENODEV), which is no error.
var CriticalModules = []string{
	"crc32c", "virtio_pci", "virtio_blk", "virtio_scsi", "ahci", "nvme", "sd_mod",
	"dm_mod", "ext4", "xfs", "vfat", "nls_cp437", "nls_ascii", "nls_utf8",
	"efivarfs",
}

// ModuleIndex is what the resolver knows of one kernel's modules.
type ModuleIndex struct {
	Deps    map[string][]string // module file (relative to /lib/modules/VERSION) -> its dependencies' files
	ByName  map[string]string   // module name (with _) -> its file
	Aliases []ModuleAlias       // in modules.alias order
	Builtin map[string]bool     // names of modules built into the kernel
}

// ModuleAlias is one line of modules.alias: a glob over modaliases (or
// a plain name) and the module it loads.
type ModuleAlias struct {
	Pattern, Module string
}

// ParseModuleIndex reads modules.dep, modules.alias and modules.builtin
// (builtin may be nil: a kernel with none).
func ParseModuleIndex(dep, alias, builtin []byte) (*ModuleIndex, error) {
	idx := &ModuleIndex{Deps: map[string][]string{}, ByName: map[string]string{}, Builtin: map[string]bool{}}
	err := eachLine(dep, func(n int, line string) error {
		file, deps, ok := strings.Cut(line, ":")
		if !ok || file == "" {
			return fmt.Errorf("modules.dep line %d: %q: want \"FILE: DEPS\"", n, line)
		}
		idx.Deps[file] = strings.Fields(deps)
		idx.ByName[ModuleName(file)] = file
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = eachLine(alias, func(n int, line string) error {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "alias" {
			return fmt.Errorf("modules.alias line %d: %q: want \"alias PATTERN MODULE\"", n, line)
		}
		idx.Aliases = append(idx.Aliases, ModuleAlias{Pattern: f[1], Module: normalize(f[2])})
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = eachLine(builtin, func(n int, line string) error {
		idx.Builtin[ModuleName(line)] = true
		return nil
	})
	return idx, err
}

// eachLine calls fn for every line that is not empty or a comment.
func eachLine(data []byte, fn func(n int, line string) error) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(n, line); err != nil {
			return err
		}
	}
	return sc.Err()
}

// ModuleName is the name of a module file: kernel/drivers/md/dm-mod.ko.xz
// is dm_mod.
func ModuleName(file string) string {
	base := path.Base(file)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return normalize(base)
}

func normalize(name string) string { return strings.ReplaceAll(name, "-", "_") }

// Resolution is the closed set of module files to carry, and what could
// not be resolved.
type Resolution struct {
	// Files in load order: every module after its dependencies.
	Files []string
	// Builtin are wanted modules the kernel has built in (nothing to load).
	Builtin []string
	// Missing are wanted names that are no module, alias or built-in of
	// this kernel.
	Missing []string
}

// Resolve finds the modules for the names wanted (modules or aliases,
// e.g. CriticalModules) and for the modaliases of the hardware present
// (/sys/bus/*/devices/*/modalias), with every dependency. A modalias no
// module claims is skipped (its driver is built in, or there is none).
func (idx *ModuleIndex) Resolve(names, modaliases []string) Resolution {
	var res Resolution
	var roots []string
	for _, want := range names {
		n := normalize(want)
		switch {
		case idx.ByName[n] != "":
			roots = append(roots, idx.ByName[n])
		case idx.Builtin[n]:
			res.Builtin = append(res.Builtin, n)
		default:
			mods := idx.match(want) // an alias as modules.alias spells it: fs-ext3
			if len(mods) == 0 {
				mods = idx.match(n)
			}
			if len(mods) == 0 {
				res.Missing = append(res.Missing, want)
			}
			for _, m := range mods {
				if idx.Builtin[m] {
					res.Builtin = append(res.Builtin, m)
				} else {
					roots = append(roots, idx.ByName[m])
				}
			}
		}
	}
	for _, ma := range modaliases {
		for _, m := range idx.match(ma) {
			if f := idx.ByName[m]; f != "" {
				roots = append(roots, f)
			}
		}
	}
	res.Files = idx.closure(roots)
	slices.Sort(res.Builtin)
	res.Builtin = slices.Compact(res.Builtin)
	return res
}

// match lists the modules whose alias pattern matches s (modprobe's
// fnmatch), each once, in name order.
func (idx *ModuleIndex) match(s string) []string {
	var mods []string
	for _, a := range idx.Aliases {
		if ok, err := path.Match(a.Pattern, s); err == nil && ok && (idx.ByName[a.Module] != "" || idx.Builtin[a.Module]) {
			mods = append(mods, a.Module)
		}
	}
	sort.Strings(mods)
	return slices.Compact(mods)
}

// closure is roots with all their dependencies, dependencies first. A
// module's dependency list in modules.dep is already transitive; it is
// walked anyway, so a hand-made index works too. Ties keep modules.dep's
// order reversed, as modprobe loads them.
func (idx *ModuleIndex) closure(roots []string) []string {
	var order []string
	done := map[string]bool{}
	var visit func(f string)
	visit = func(f string) {
		if done[f] {
			return
		}
		done[f] = true
		deps := idx.Deps[f]
		for i := len(deps) - 1; i >= 0; i-- {
			visit(deps[i])
		}
		order = append(order, f)
	}
	for _, r := range roots {
		visit(r)
	}
	return order
}

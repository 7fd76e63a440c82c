package grub

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Menu is drd's GRUB snippet (/boot/grub/drd.cfg) as a value. Every
// image's copy lists every image; at each boot GRUB reads drd's
// environment block from every image's /boot, obeys the freshest, counts
// a trial boot down before it starts it, and falls back to the last good
// image and then to the image whose disk it runs from.
type Menu struct {
	Self   string      // the image this copy belongs to: the last resort
	Images []MenuImage // every image, each with its own kernel
	Panic  int         // seconds a trial kernel waits after a panic before it reboots
	// TrialArgs are more arguments of a trial kernel's command line (the
	// trial's watchdog), after panic=; "" for none. With them, a trial
	// also loads its image's MenuImage.TrialInitrd.
	TrialArgs string
	// Recovery is the STAGEISL entry, from Self's own /boot; nil when
	// STAGEISL is not installed there.
	Recovery *MenuRecovery
}

// MenuRecovery is the STAGEISL entry of a menu (docs/isl.md): it is
// always in the menu, whatever image boots, with its own hotkey.
type MenuRecovery struct {
	BootUUID   string // file system holding Self's /boot
	BootPrefix string // as MenuImage.BootPrefix
	Cmdline    string // console= arguments
}

// MenuImage is one image as drd's menu boots it.
type MenuImage struct {
	Name       string // sysimage_001
	Title      string // the menu line
	BootUUID   string // file system holding /boot
	BootPrefix string // "" when /boot is its own file system, "/boot" when it is in /
	Kernel     string // vmlinuz-6.1.0-28-amd64, in /boot
	Initrd     string // initrd.img-6.1.0-28-amd64, "" for none
	Cmdline    string // the kernel command line, root= included
	// TrialInitrd, in /boot/drd, is loaded after Initrd when the image
	// boots on trial: the trial's watchdog from the initramfs's start
	// (bootenv.InitrdWatchdog); "" for none.
	TrialInitrd string
}

// Where drd's menu finds drd's environment block, and how far it counts
// a trial boot down.
const (
	BlockSuffix = "/grub/drdenv" // below an image's /boot
	MaxTries    = 9              // the snippet counts down from at most this
)

// The STAGEISL entry: its line in the menu and the files it boots, in
// RecoveryDir below the /boot of the image the menu belongs to.
const (
	RecoveryDir     = "drd"         // below /boot
	RecoveryKernel  = "vmlinuz"     // the booted kernel, copied
	RecoveryISL     = "drd-isl.img" // the ISL initramfs (zstd cpio)
	RecoveryModules = "modules.img" // that kernel's modules (zstd cpio)
	RecoveryTitle   = "drd recovery (STAGEISL)"
	RecoveryMenuID  = "drd-isl"
	RecoveryHotkey  = "r" // GRUB: this key in the menu boots STAGEISL
)

// What the menu lets through, as GRUB reads it: drd's image names, file
// names in /boot, kernel command lines with nothing GRUB's shell would
// expand or end. Compiled on first use (safety/rules.go says why).
var (
	ImageNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^sysimage_\d{3}$`) })
	FileRE      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._+-]+$`) })
	CmdlineRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[^'"\\$;{}\n]*$`) })
	uuidRE      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9A-Fa-f-]{9,36}$`) })
)

func (m Menu) validate() error {
	if !ImageNameRE().MatchString(m.Self) {
		return fmt.Errorf("drd.cfg: owner %q is no image name", m.Self)
	}
	self := false
	for _, im := range m.Images {
		if !ImageNameRE().MatchString(im.Name) {
			return fmt.Errorf("drd.cfg: %q is no image name", im.Name)
		}
		self = self || im.Name == m.Self
		switch {
		case !uuidRE().MatchString(im.BootUUID):
			return fmt.Errorf("drd.cfg: %s: /boot UUID %q", im.Name, im.BootUUID)
		case im.BootPrefix != "" && im.BootPrefix != "/boot":
			return fmt.Errorf("drd.cfg: %s: prefix %q", im.Name, im.BootPrefix)
		case !FileRE().MatchString(im.Kernel):
			return fmt.Errorf("drd.cfg: %s: kernel %q: want a file name in /boot", im.Name, im.Kernel)
		case im.Initrd != "" && !FileRE().MatchString(im.Initrd):
			return fmt.Errorf("drd.cfg: %s: initrd %q: want a file name in /boot", im.Name, im.Initrd)
		case im.TrialInitrd != "" && !FileRE().MatchString(im.TrialInitrd):
			return fmt.Errorf("drd.cfg: %s: trial initrd %q: want a file name in /boot/%s", im.Name, im.TrialInitrd, RecoveryDir)
		case !CmdlineRE().MatchString(im.Cmdline) || !strings.Contains(im.Cmdline, "root="):
			return fmt.Errorf("drd.cfg: %s: kernel command line %q: want root= and no quotes, $, ;, braces or backslashes", im.Name, im.Cmdline)
		case strings.ContainsAny(im.Title, "'\n"):
			return fmt.Errorf("drd.cfg: %s: title %q has a quote or a line break", im.Name, im.Title)
		}
	}
	if !self {
		return fmt.Errorf("drd.cfg of %s does not list %s itself", m.Self, m.Self)
	}
	if r := m.Recovery; r != nil {
		switch {
		case !uuidRE().MatchString(r.BootUUID):
			return fmt.Errorf("drd.cfg: STAGEISL: /boot UUID %q", r.BootUUID)
		case r.BootPrefix != "" && r.BootPrefix != "/boot":
			return fmt.Errorf("drd.cfg: STAGEISL: prefix %q", r.BootPrefix)
		case !CmdlineRE().MatchString(r.Cmdline):
			return fmt.Errorf("drd.cfg: STAGEISL: kernel command line %q: want no quotes, $, ;, braces or backslashes", r.Cmdline)
		}
	}
	if m.Panic < 1 {
		return fmt.Errorf("drd.cfg: panic=%d: a trial kernel must reboot after a panic", m.Panic)
	}
	if m.TrialArgs != "" && !CmdlineRE().MatchString(m.TrialArgs) {
		return fmt.Errorf("drd.cfg: trial arguments %q: want no quotes, $, ;, braces or backslashes", m.TrialArgs)
	}
	return nil
}

// Encode writes drd.cfg. Only stock GRUB commands: search, load_env,
// save_env, test, set, export, menuentry, linux, initrd.
func (m Menu) Encode() ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# drd.cfg: which system image boots. Written by drd; do not edit (drd activate, docs/boot.md).")
	w("# Sourced by grub.cfg (/etc/grub.d/05_drd). Every image's /boot%s holds a", BlockSuffix)
	w("# copy of drd's environment block; the copy with the highest drd_seq decides.")
	w("insmod part_gpt")
	w("insmod part_msdos")
	w("insmod ext2")
	w("set drd_self=%s", m.Self)
	w("set drd_best=")
	w("set drd_best_seq=")
	for _, im := range m.Images {
		w("set drd_found_%s=", im.Name)
	}
	for _, im := range m.Images {
		w("")
		w("# the block of %s", im.Name)
		w("set drd_seq=")
		w("set drd_next=")
		w("set drd_trial=")
		w("set drd_tries=")
		w("if search --no-floppy --fs-uuid --set=drd_dev %s; then", im.BootUUID)
		w("\tset drd_found_%s=1", im.Name)
		w("\tif load_env --file ($drd_dev)%s%s drd_seq drd_next drd_trial drd_tries; then", im.BootPrefix, BlockSuffix)
		w("\t\tif [ -n \"$drd_seq\" ]; then")
		w("\t\t\tset drd_take=0")
		w("\t\t\tif [ -z \"$drd_best_seq\" ]; then")
		w("\t\t\t\tset drd_take=1")
		w("\t\t\telif [ \"$drd_seq\" -gt \"$drd_best_seq\" ]; then")
		w("\t\t\t\tset drd_take=1")
		w("\t\t\tfi")
		w("\t\t\tif [ \"$drd_take\" = 1 ]; then")
		w("\t\t\t\tset drd_best=($drd_dev)%s%s", im.BootPrefix, BlockSuffix)
		w("\t\t\t\tset drd_best_seq=\"$drd_seq\"")
		w("\t\t\t\tset drd_best_next=\"$drd_next\"")
		w("\t\t\t\tset drd_best_trial=\"$drd_trial\"")
		w("\t\t\t\tset drd_best_tries=\"$drd_tries\"")
		w("\t\t\tfi")
		w("\t\tfi")
		w("\tfi")
		w("fi")
	}
	w("")
	w("# The decision. A trial boot costs one try, saved before it starts:")
	w("# when the tries are used up, the last good image boots again.")
	w("set drd_panic=")
	w("export drd_panic")
	w("set drd_trial_initrd=")
	w("export drd_trial_initrd")
	w("if [ -n \"$drd_best\" ]; then")
	w("\tset drd_boot=\"$drd_best_next\"")
	w("\tif [ -n \"$drd_best_trial\" ]; then")
	w("\t\tset drd_tries=")
	for n := MaxTries; n >= 1; n-- {
		kw := "elif"
		if n == MaxTries {
			kw = "if"
		}
		w("\t\t%s [ \"$drd_best_tries\" = %d ]; then", kw, n)
		w("\t\t\tset drd_tries=%d", n-1)
	}
	w("\t\tfi")
	w("\t\tif [ -n \"$drd_tries\" ]; then")
	w("\t\t\tif save_env --file \"$drd_best\" drd_tries; then")
	w("\t\t\t\tset drd_boot=\"$drd_best_trial\"")
	w("\t\t\tfi")
	w("\t\tfi")
	w("\tfi")
	w("\t# An image whose disk is gone cannot boot: this disk's image does.")
	for _, im := range m.Images {
		w("\tif [ \"$drd_boot\" = %s ]; then", im.Name)
		w("\t\tif [ -z \"$drd_found_%s\" ]; then", im.Name)
		w("\t\t\tset drd_boot=\"$drd_self\"")
		w("\t\tfi")
		w("\tfi")
	}
	w("\tif [ \"$drd_boot\" = \"$drd_best_trial\" ]; then")
	if m.TrialArgs == "" {
		w("\t\tset drd_panic=panic=%d", m.Panic)
	} else {
		w("\t\tset drd_panic=\"panic=%d %s\"", m.Panic, m.TrialArgs)
		w("\t\tset drd_trial_initrd=1")
	}
	w("\tfi")
	w("\tset default=\"drd-$drd_boot\"")
	w("\tset fallback=\"drd-$drd_best_next drd-$drd_self\"")
	for _, im := range m.Images {
		w("")
		w("\tmenuentry '%s' --id drd-%s {", im.Title, im.Name)
		w("\t\tif search --no-floppy --fs-uuid --set=root %s; then", im.BootUUID)
		w("\t\t\techo 'Loading %s of %s ...'", im.Kernel, im.Name)
		w("\t\t\tlinux %s/%s %s $drd_panic", im.BootPrefix, im.Kernel, im.Cmdline)
		switch {
		case im.Initrd != "" && im.TrialInitrd != "":
			trial := im.BootPrefix + "/" + RecoveryDir + "/" + im.TrialInitrd
			// A missing archive must not cost the initramfs.
			w("\t\t\tif [ -n \"$drd_trial_initrd\" -a -f %s ]; then", trial)
			w("\t\t\t\tinitrd %s/%s %s", im.BootPrefix, im.Initrd, trial)
			w("\t\t\telse")
			w("\t\t\t\tinitrd %s/%s", im.BootPrefix, im.Initrd)
			w("\t\t\tfi")
		case im.Initrd != "":
			w("\t\t\tinitrd %s/%s", im.BootPrefix, im.Initrd)
		}
		w("\t\tfi")
		w("\t}")
	}
	w("fi")
	if r := m.Recovery; r != nil {
		dir := r.BootPrefix + "/" + RecoveryDir
		w("")
		w("# STAGEISL, drd's recovery utility (drd isl install): whatever boots.")
		w("menuentry '%s' --id %s --hotkey=%s {", RecoveryTitle, RecoveryMenuID, RecoveryHotkey)
		w("\tif search --no-floppy --fs-uuid --set=root %s; then", r.BootUUID)
		w("\t\techo 'Loading STAGEISL ...'")
		w("\t\tlinux %s/%s %s", dir, RecoveryKernel, r.Cmdline)
		w("\t\tinitrd %s/%s %s/%s", dir, RecoveryISL, dir, RecoveryModules)
		w("\tfi")
		w("}")
	}
	return b.Bytes(), nil
}

// The grub.d script drd puts into every image: grub-mkconfig (update-grub)
// copies its output into grub.cfg, so drd's snippet survives every
// update-grub of the distribution.
const (
	GrubDScriptPath = "/etc/grub.d/05_drd"
	grubDBegin      = "### BEGIN /etc/grub.d/05_drd ###"
	grubDEnd        = "### END /etc/grub.d/05_drd ###"
	hookBody        = `if [ -f "${prefix}/drd.cfg" ]; then
	source "${prefix}/drd.cfg"
fi
`
)

// GrubDScript is the text of /etc/grub.d/05_drd.
const GrubDScript = `#!/bin/sh
# drd: let drd's snippet choose the system image that boots (docs/boot.md).
# Written by drd; it only prints, so update-grub keeps drd's menu.
set -e
cat <<'EOF'
` + hookBody + `EOF
`

// InsertHook adds the 05_drd section to a grub.cfg as grub-mkconfig would
// write it: after the 00_header section (or at the top), once. A grub.cfg
// that has the section already is returned unchanged.
func InsertHook(cfg []byte) []byte {
	if bytes.Contains(cfg, []byte(grubDBegin)) {
		return cfg
	}
	section := "\n" + grubDBegin + "\n" + hookBody + grubDEnd + "\n"
	const headerEnd = "### END /etc/grub.d/00_header ###\n"
	i := bytes.Index(cfg, []byte(headerEnd))
	if i < 0 {
		return append([]byte(strings.TrimPrefix(section, "\n")+"\n"), cfg...)
	}
	i += len(headerEnd)
	out := append([]byte{}, cfg[:i]...)
	out = append(out, section...)
	return append(out, cfg[i:]...)
}

// ReplaceUUIDs replaces whole UUIDs in a boot loader configuration (a
// grub.cfg, an ESP's grub.cfg): the clone's menu must name the clone's
// file systems. Case is ignored, as GRUB and blkid print them differently.
func ReplaceUUIDs(cfg []byte, renames map[string]string) ([]byte, int) {
	lower := bytes.ToLower(cfg)
	type hit struct {
		at, n int
		new   string
	}
	var hits []hit
	for old, new := range renames {
		if old == "" || new == "" || strings.EqualFold(old, new) {
			continue
		}
		o := []byte(strings.ToLower(old))
		for from := 0; ; {
			i := bytes.Index(lower[from:], o)
			if i < 0 {
				break
			}
			at := from + i
			end := at + len(o)
			from = end
			if (at > 0 && isUUIDByte(lower[at-1])) || (end < len(lower) && isUUIDByte(lower[end])) {
				continue
			}
			hits = append(hits, hit{at, len(o), new})
		}
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].at < hits[j].at })
	var out []byte
	last := 0
	for _, h := range hits {
		if h.at < last {
			continue
		}
		out = append(append(out, cfg[last:h.at]...), h.new...)
		last = h.at + h.n
	}
	return append(out, cfg[last:]...), len(hits)
}

func isUUIDByte(c byte) bool {
	return c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

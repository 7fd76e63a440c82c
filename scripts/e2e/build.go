package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Images are the cached disk images of a layout. VMs never write them:
// they boot qcow2 overlays on top.
type Images struct {
	Dir   string
	Disks map[string]string // serial → raw image
	Vars  string            // OVMF variables after the install (UEFI), with the boot entry
	Base  Base
}

// buildTimeout bounds one run of the builder VM.
const buildTimeout = 10 * time.Minute

// layoutVersion changes when the way layouts are built changes.
const layoutVersion = "layout-v3"

// EnsureImages returns l's images, building the base system and the layout
// first if the cache does not hold them. hit reports whether both came from
// the cache.
//
// The host does the bulk of the work at native speed: it partitions the
// disk images (sgdisk) and writes the file systems with their contents
// straight into them (mkfs.ext4 -d at the partition's offset, mkfs.vfat and
// mcopy). The builder VM, booted read-only from the base system, does what
// the host kernel cannot: LVM, and GRUB installed from within the system.
func EnsureImages(ctx context.Context, l Layout, logf func(string, ...any)) (img Images, hit bool, err error) {
	if err := l.check(); err != nil {
		return Images{}, false, err
	}
	base, baseHit, err := ensureBase(ctx, l.Release, logf)
	if err != nil {
		return Images{}, false, fmt.Errorf("building the base system of %s: %w", l.Release, err)
	}
	spec, _ := json.Marshal(l)
	files := filesDigest(guestFiles())
	ps0, _ := l.plan(func() string { return "00000000-0000-4000-8000-000000000000" })
	dir := filepath.Join(CacheDir(), fmt.Sprintf("layout-%s-%s", l.Name,
		key(layoutVersion, filepath.Base(base.Dir), string(spec), files, builderScript(l, ps0))))
	img = Images{Dir: dir, Disks: map[string]string{}, Base: base}
	for _, d := range l.Disks {
		img.Disks[d.Serial] = filepath.Join(dir, d.Serial+".raw")
	}
	if l.Firmware == UEFI {
		img.Vars = filepath.Join(dir, "efivars.fd")
	}
	layoutHit, err := cached(ctx, dir, func(tmp string) error {
		logf("building layout %s in %s", l.Name, tmp)
		return buildLayout(ctx, l, base, tmp)
	})
	if err != nil {
		return Images{}, false, fmt.Errorf("building layout %s: %w", l.Name, err)
	}
	return img, baseHit && layoutHit, nil
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func buildLayout(ctx context.Context, l Layout, base Base, tmp string) error {
	ps, err := l.plan(newUUID)
	if err != nil {
		return err
	}
	dirs, err := stage(ctx, l, ps, base, tmp)
	if err != nil {
		return err
	}
	lvImages, err := writeDisks(ctx, l, ps, dirs, tmp)
	if err != nil {
		return err
	}
	os.RemoveAll(filepath.Join(tmp, "stage"))
	if err := runBuilder(ctx, l, ps, base, tmp, lvImages); err != nil {
		return err
	}
	for _, f := range lvImages {
		os.Remove(f)
	}
	return nil
}

// stage makes the content of each file system as a directory: a hard-link
// copy of the base tree, split at the mount points, with the layout's own
// files (fstab, markers) written over it.
func stage(ctx context.Context, l Layout, ps []fsPlan, base Base, tmp string) (map[string]string, error) {
	st := filepath.Join(tmp, "stage")
	if err := os.MkdirAll(st, 0o755); err != nil {
		return nil, err
	}
	root := filepath.Join(st, "root")
	if _, err := run(ctx, "cp", "-al", base.Tree, root); err != nil {
		return nil, fmt.Errorf("staging the system: %w", err)
	}
	dirs := map[string]string{"/": root}
	byDepth := append([]fsPlan(nil), ps...)
	sort.SliceStable(byDepth, func(i, j int) bool { return depth(byDepth[i].Point) > depth(byDepth[j].Point) })
	for i, p := range byDepth {
		if p.Point == "/" {
			continue
		}
		d := filepath.Join(st, "fs"+strconv.Itoa(i))
		src := filepath.Join(root, p.Point)
		if _, err := os.Stat(src); err == nil {
			if err := os.Rename(src, d); err != nil {
				return nil, fmt.Errorf("staging %s: %w", p.Point, err)
			}
		} else if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(src, 0o755); err != nil {
			return nil, err
		}
		dirs[p.Point] = d
	}
	if err := writeTree(root, guestFiles()); err != nil {
		return nil, err
	}
	if err := writeTree(root, map[string]file{
		"/etc/fstab":      {0o644, fstab(l, ps)},
		"/etc/machine-id": {0o444, ""},
	}); err != nil {
		return nil, err
	}
	if err := os.Remove(filepath.Join(root, "usr/local/lib/drd-e2e/builder-init")); err != nil {
		return nil, err
	}
	for _, p := range ps {
		if err := writeTree(dirs[p.Point], map[string]file{"/drd-e2e-fs.txt": {0o644, marker(l, p)}}); err != nil {
			return nil, err
		}
	}
	return dirs, nil
}

// writeDisks partitions the layout's disk images and writes the partitions'
// file systems into them; file systems of LVs go to images of their own,
// returned by serial, for the builder VM to copy into the LVs.
func writeDisks(ctx context.Context, l Layout, ps []fsPlan, dirs map[string]string, tmp string) (map[string]string, error) {
	for _, d := range l.Disks {
		f := filepath.Join(tmp, d.Serial+".raw")
		if err := makeSparse(f, d.Size); err != nil {
			return nil, err
		}
		args := []string{"-o"}
		for i, p := range d.Parts {
			n := i + 1
			end := "0"
			if p.Size > 0 {
				end = fmt.Sprintf("+%dK", p.Size>>10)
			}
			args = append(args, fmt.Sprintf("-n%d:0:%s", n, end), fmt.Sprintf("-t%d:%s", n, p.Type), fmt.Sprintf("-c%d:%s", n, p.Name))
		}
		if _, err := run(ctx, "sgdisk", append(args, f)...); err != nil {
			return nil, fmt.Errorf("partitioning %s: %w", d.Serial, err)
		}
		out, err := run(ctx, "partx", "-g", "-o", "NR,START,SECTORS", f)
		if err != nil {
			return nil, fmt.Errorf("reading the partitions of %s: %w", d.Serial, err)
		}
		parts := map[int][2]int64{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var nr int
			var start, sectors int64
			if _, err := fmt.Sscan(line, &nr, &start, &sectors); err != nil {
				return nil, fmt.Errorf("reading the partitions of %s from %q: %w", d.Serial, line, err)
			}
			parts[nr] = [2]int64{start * 512, sectors * 512}
		}
		for _, p := range ps {
			if p.Disk != d.Serial {
				continue
			}
			where, ok := parts[p.Part]
			if !ok {
				return nil, fmt.Errorf("partition %d of %s is missing after sgdisk:\n%s", p.Part, d.Serial, out)
			}
			if err := mkfs(ctx, p, dirs[p.Point], f, where[0], where[1]); err != nil {
				return nil, fmt.Errorf("making %s on partition %d of %s: %w", p.Point, p.Part, d.Serial, err)
			}
		}
	}
	lvs := map[string]string{}
	for _, p := range ps {
		if p.LV == "" {
			continue
		}
		f := filepath.Join(tmp, p.Serial+".raw")
		if err := makeSparse(f, p.Size); err != nil {
			return nil, err
		}
		if err := mkfs(ctx, p, dirs[p.Point], f, 0, p.Size); err != nil {
			return nil, fmt.Errorf("making %s for LV %s/%s: %w", p.Point, p.VG, p.LV, err)
		}
		lvs[p.Serial] = f
	}
	return lvs, nil
}

// mkfs writes p's file system with the content of dir into file, at
// offset, size bytes long.
func mkfs(ctx context.Context, p fsPlan, dir, file string, offset, size int64) error {
	switch p.FS {
	case "ext4":
		args := []string{"-q", "-F", "-t", "ext4", "-U", p.UUID, "-L", p.Label, "-d", dir}
		if offset > 0 {
			args = append(args, "-E", "offset="+strconv.FormatInt(offset, 10))
		}
		_, err := run(ctx, "mkfs.ext4", append(args, file, strconv.FormatInt(size>>10, 10)+"k")...)
		return err
	case "vfat":
		// mkfs.vfat sizes clusters by the whole image file, not the
		// partition; one-sector clusters keep a small FAT32 above its
		// minimum cluster count.
		id := strings.ReplaceAll(p.UUID, "-", "")
		if _, err := run(ctx, "mkfs.vfat", "-F", "32", "-s", "1", "-n", strings.ToUpper(p.Label), "-i", id,
			"--offset", strconv.FormatInt(offset/512, 10), file, strconv.FormatInt(size>>10, 10)); err != nil {
			return err
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		args := []string{"-s", "-p", "-Q", "-i", fmt.Sprintf("%s@@%d", file, offset)}
		for _, e := range entries {
			args = append(args, filepath.Join(dir, e.Name()))
		}
		if len(entries) > 0 {
			_, err = runIn(ctx, "", []string{"MTOOLS_SKIP_CHECK=1"}, "mcopy", append(args, "::/")...)
		}
		return err
	}
	return fmt.Errorf("no way to make a file system of type %s", p.FS)
}

// runBuilder boots the base system read-only with the layout's disks and
// lets it run builderScript.
func runBuilder(ctx context.Context, l Layout, ps []fsPlan, base Base, tmp string, lvImages map[string]string) error {
	job := filepath.Join(tmp, "job")
	if err := os.MkdirAll(job, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(job)
	if err := os.WriteFile(filepath.Join(job, "build.sh"), []byte(builderScript(l, ps)), 0o755); err != nil {
		return err
	}
	jobImg := filepath.Join(tmp, "job.sqfs")
	defer os.Remove(jobImg)
	if _, err := run(ctx, "mksquashfs", job, jobImg, "-noappend", "-quiet", "-all-root"); err != nil {
		return err
	}
	m := machine{
		Name: "drd-e2e-builder-" + l.Name, Firmware: l.Firmware,
		Kernel: base.Kernel, Initrd: base.Initrd,
		Append: "root=/dev/vda ro rootwait init=/usr/local/lib/drd-e2e/builder-init console=ttyS0,115200 panic=-1 loglevel=4",
		Drives: []drive{
			{File: base.Rootfs, Format: "raw", Serial: "drdbuilder", ReadOnly: true},
			{File: jobImg, Format: "raw", Serial: "drdjob", ReadOnly: true},
		},
		MemMiB: 1024, CPUs: cpus(), NoReboot: true,
	}
	for _, d := range l.Disks {
		m.Drives = append(m.Drives, drive{File: filepath.Join(tmp, d.Serial+".raw"), Format: "raw", Serial: d.Serial})
	}
	serials := make([]string, 0, len(lvImages))
	for s := range lvImages {
		serials = append(serials, s)
	}
	sort.Strings(serials)
	for _, s := range serials {
		m.Drives = append(m.Drives, drive{File: lvImages[s], Format: "raw", Serial: s, ReadOnly: true})
	}
	if l.Firmware == UEFI {
		m.Vars = filepath.Join(tmp, "efivars.fd")
		if _, err := run(ctx, "cp", ovmfVars, m.Vars); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	p, err := startQEMU(ctx, m, tmp, false)
	if err != nil {
		return err
	}
	defer p.kill()
	log := filepath.Join(tmp, "console.log")
	if err := p.wait(ctx); err != nil {
		return fmt.Errorf("the builder VM did not finish in %s; last 40 lines of its console (%s):\n%s", buildTimeout, log, p.console.Tail(40))
	}
	time.Sleep(100 * time.Millisecond) // let the console reader drain
	if !p.console.Contains("DRD-E2E-BUILD-RESULT 0") {
		return fmt.Errorf("the builder VM failed; last 40 lines of its console (%s):\n%s", log, p.console.Tail(40))
	}
	return nil
}

// makeSparse creates an empty sparse file of size bytes.
func makeSparse(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return fmt.Errorf("sizing %s: %w", path, err)
	}
	return f.Close()
}

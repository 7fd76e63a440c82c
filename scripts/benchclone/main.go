// Command benchclone times drd's copy engine (clone/copyfs) against cp -a,
// rsync -aHAXS and a physical floor, on a Debian minbase root and on a
// synthetic tree of 100,000 small files, each copy starting from a cold
// cache onto a fresh ext4. scripts/bench-clone builds and runs it as root.
//
// Everything lives in image files under -dir (default /var/tmp/drd-bench),
// attached to loop devices: the machine's own disks are never written
// except through those files. The source trees are built once and cached
// under a name keyed by their recipe. It measures and reports; it fails only
// when it cannot run.
//
// In a VM (scripts/e2e's TestBenchLVM) it copies from a block device
// instead, LVM snapshots (-source-devs), onto fresh file systems on a disk
// (-target-dev), and -make-synth writes the synthetic tree into a directory
// to fill that source with.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() {
	dir := flag.String("dir", "/var/tmp/drd-bench", "where the image files live")
	trees := flag.String("trees", "debian,synth", "trees to copy: debian, synth")
	methods := flag.String("methods", "drd,cp,rsync,floor", "what to time: drd, cp, rsync, floor")
	runs := flag.Int("runs", 1, "runs of each method (the best counts)")
	workers := flag.Int("workers", 0, "copyfs workers (0: its default)")
	verify := flag.Bool("verify", true, "compare each drd copy with its source (untimed)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the drd runs to this file")
	verbose := flag.Bool("v", false, "show the commands run")
	sourceDevs := flag.String("source-devs", "", "name=device,...: copy from the ext4 on each block device (an LVM snapshot: mounted ro,noload as drd clone mounts one) instead of the cached trees")
	targetDev := flag.String("target-dev", "", "make each target ext4 on this block device (overwritten) instead of in an image file")
	makeSynth := flag.String("make-synth", "", "write the synthetic tree into this directory, and do nothing else")
	loadavg := flag.String("loadavg", "/proc/loadavg", "where to read the load average shown beside each run (a VM is given its host's)")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "benchclone: run as root (loop devices, mount, drop_caches)")
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *makeSynth != "" {
		if err := buildSynth(ctx, *makeSynth); err != nil {
			fmt.Fprintln(os.Stderr, "benchclone: writing the synthetic tree:", err)
			os.Exit(1)
		}
		return
	}
	b := &bench{dir: *dir, r: runner{verbose: *verbose}, runs: *runs, workers: *workers, verify: *verify,
		targetDev: *targetDev, loadavg: *loadavg}
	if *sourceDevs != "" {
		for _, pair := range strings.Split(*sourceDevs, ",") {
			name, dev, ok := strings.Cut(pair, "=")
			if !ok || name == "" || dev == "" {
				fmt.Fprintf(os.Stderr, "benchclone: -source-devs %q: want name=device,...\n", *sourceDevs)
				os.Exit(1)
			}
			b.sourceDevs = append(b.sourceDevs, [2]string{name, dev})
		}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchclone:", err)
			os.Exit(1)
		}
		defer f.Close()
		b.profile = f
	}
	if err := b.main(ctx, strings.Split(*trees, ","), strings.Split(*methods, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "benchclone:", err)
		os.Exit(1)
	}
}

type bench struct {
	dir     string
	r       runner
	runs    int
	workers int
	verify  bool
	profile *os.File
	results []result

	sourceDevs [][2]string // name, block device: trees to copy instead of the cached ones
	targetDev  string      // a block device to make the targets on instead of image files
	loadavg    string      // file to read the load average from
}

func (b *bench) main(ctx context.Context, trees, methods []string) error {
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return err
	}
	for _, name := range methods {
		if findMethod(name) == nil {
			return fmt.Errorf("unknown method %q: use drd, cp, rsync, floor", name)
		}
	}
	srcMnt := filepath.Join(b.dir, "mnt", "src")
	for _, sd := range b.sourceDevs {
		src, err := b.r.mountDev(ctx, sd[1], srcMnt, "ro,noatime,noload")
		if err != nil {
			return err
		}
		err = b.tree(ctx, source{name: sd[0]}, src, methods)
		if derr := b.r.detach(src); err == nil {
			err = derr
		}
		if err != nil {
			return err
		}
	}
	if len(b.sourceDevs) > 0 {
		b.report(os.Stdout)
		return nil
	}
	for _, s := range sources() {
		if !slices.Contains(trees, s.name) {
			continue
		}
		img, err := s.ensure(ctx, b.r, b.dir)
		if err != nil {
			return err
		}
		src, err := b.r.attach(ctx, img, srcMnt, "ro,noatime")
		if err != nil {
			return err
		}
		err = b.tree(ctx, s, src, methods)
		b.r.detach(src)
		if err != nil {
			return err
		}
	}
	b.report(os.Stdout)
	return nil
}

// tree times every method on one mounted source tree.
func (b *bench) tree(ctx context.Context, s source, src *fsImage, methods []string) error {
	entries, data := countTree(src.mnt)
	fmt.Fprintf(os.Stderr, "%s: %d entries, %.0f MB of data, %.0f MB in use on %s\n", s.name, entries, mb(data), mb(used(src)), src.dev)
	for run := 1; run <= b.runs; run++ {
		for _, name := range methods {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			res, err := b.once(ctx, s, src, findMethod(name))
			if err != nil {
				return err
			}
			res.entries, res.data = entries, data
			b.results = append(b.results, res)
			fmt.Fprintf(os.Stderr, "  run %d %-6s %7.2fs  load %.2f  %s\n", run, name, res.seconds, res.load, res.note)
		}
	}
	return nil
}

// target makes a fresh ext4 for one run and mounts it; done unmounts it
// and removes its image.
func (b *bench) target(ctx context.Context, s source) (dst *fsImage, done func(), err error) {
	mnt := filepath.Join(b.dir, "mnt", "dst")
	if b.targetDev != "" {
		if err := b.r.mkfs(ctx, b.targetDev); err != nil {
			return nil, nil, err
		}
		dst, err := b.r.mountDev(ctx, b.targetDev, mnt, "rw,relatime")
		if err != nil {
			return nil, nil, err
		}
		return dst, func() { b.r.detach(dst) }, nil
	}
	img := filepath.Join(b.dir, "target.img")
	os.Remove(img)
	if err := b.r.makeImage(ctx, img, s.size); err != nil {
		return nil, nil, err
	}
	dst, err = b.r.attach(ctx, img, mnt, "rw,relatime")
	if err != nil {
		os.Remove(img)
		return nil, nil, err
	}
	return dst, func() { b.r.detach(dst); os.Remove(img) }, nil
}

// once times one method onto a fresh target, from a cold cache.
func (b *bench) once(ctx context.Context, s source, src *fsImage, m *method) (result, error) {
	dst, done, err := b.target(ctx, s)
	if err != nil {
		return result{}, err
	}
	defer done()
	if err := dropCaches(); err != nil {
		return result{}, fmt.Errorf("dropping caches: %w", err)
	}
	srcIO, dstIO := devIO(src.dev), devIO(dst.dev)
	res := result{tree: s.name, method: m.name}
	start := time.Now()
	if err := m.run(ctx, b, src, dst, &res); err != nil {
		return result{}, fmt.Errorf("%s on %s: %w", m.name, s.name, err)
	}
	res.seconds = time.Since(start).Seconds()
	res.load = loadAverage(b.loadavg)
	res.read = devIO(src.dev).read - srcIO.read
	res.written = devIO(dst.dev).written - dstIO.written
	if m.after != nil {
		if err := m.after(ctx, b, src, dst, &res); err != nil {
			return result{}, fmt.Errorf("%s on %s: %w", m.name, s.name, err)
		}
	}
	if m.name == "drd" && b.verify {
		res.diffs, err = compareTrees(src.mnt, dst.mnt)
		if err != nil {
			return result{}, err
		}
		res.note += fmt.Sprintf(" diffs=%d", res.diffs)
	}
	return res, nil
}

// result is one timed run.
type result struct {
	tree, method  string
	entries, data int64
	seconds       float64
	user, sys     float64 // CPU seconds
	read, written int64   // bytes through the source and target devices
	diffs         int
	load          float64 // 1-minute load average at the end of the run
	note          string
}

func mb(n int64) float64 { return float64(n) / 1e6 }

// report prints the best run of each method and the ratios.
func (b *bench) report(out *os.File) {
	best := map[string]result{}
	var keys []string
	for _, r := range b.results {
		k := r.tree + "\x00" + r.method
		if old, ok := best[k]; !ok || r.seconds < old.seconds {
			if !ok {
				keys = append(keys, k)
			}
			best[k] = r
		}
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "tree\tentries\tdata MB\tmethod\tseconds\tuser s\tsys s\tread MB\twritten MB\tload\tvs cp\tvs rsync\t")
	for _, k := range keys {
		r := best[k]
		ratio := func(other string) string {
			o, ok := best[r.tree+"\x00"+other]
			if !ok || o.seconds == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2fx", r.seconds/o.seconds)
		}
		fmt.Fprintf(w, "%s\t%d\t%.0f\t%s\t%.2f\t%.2f\t%.2f\t%.0f\t%.0f\t%.2f\t%s\t%s\t\n",
			r.tree, r.entries, mb(r.data), r.method, r.seconds, r.user, r.sys, mb(r.read), mb(r.written), r.load, ratio("cp"), ratio("rsync"))
	}
	w.Flush()
}

// Command benchexport is the drd side of scripts/bench-export: it writes a
// directory tree as a drd artifact (images/artifact, one member, as drd
// export does for each file system) or unpacks one into a directory (as
// drd import does), so that the script can time the format's engine
// against tar and zstd.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/drd-linux/drd/images/artifact"
)

func main() {
	mode := flag.String("mode", "export", "export (tree -> artifact) or import (artifact -> tree)")
	dir := flag.String("dir", "", "the tree: read (export) or filled (import, an empty file system)")
	file := flag.String("file", "", "the artifact: written (export) or read (import)")
	level := flag.Int("level", 3, "zstd level")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	flag.Parse()
	if *cpuprofile != "" {
		pf, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(pf)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchexport:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*mode, *dir, *file, *level); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "benchexport:", err)
		os.Exit(1)
	}
}

func run(mode, dir, file string, level int) error {
	ctx := context.Background()
	switch mode {
	case "export":
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		m := artifact.Manifest{Kind: artifact.KindFull, Members: []artifact.Member{{Name: "root"}},
			FileSystems: []artifact.FileSystem{{Mount: "/", Type: "ext4", Member: "root"}}}
		w, err := artifact.NewWriter(bw, m, nil)
		if err != nil {
			return err
		}
		st, err := artifact.WriteFS(ctx, w, "root", dir, level, artifact.PackOptions{})
		if err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "exported %d entries, %d data bytes\n", st.Entries, st.Bytes)
		return f.Close()
	case "import":
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		r, err := artifact.NewReader(bufio.NewReaderSize(f, 1<<20), nil)
		if err != nil {
			return err
		}
		_, mr, err := r.Next()
		if err != nil {
			return err
		}
		st, err := artifact.ReadFS(ctx, mr, dir, artifact.UnpackOptions{})
		if err != nil {
			return err
		}
		if _, err := r.Finish(); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "imported %d entries, %d data bytes\n", st.Entries, st.Bytes)
		return nil
	}
	return fmt.Errorf("mode %q: want export or import", mode)
}

// Command benchexport is the drd side of scripts/bench-export: it writes a
// directory tree as a drd artifact (images/artifact, one member, as drd
// export does for each file system) or unpacks one into a directory (as
// drd import does), so that the script can time the format's engine
// against tar and zstd. With -base it writes a delta against the tree
// there, as drd export -x delta=true does, and says what the delta holds.
package main

import (
	"archive/tar"
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/drd-linux/drd/images/artifact"
	"github.com/drd-linux/drd/pkgdb"
)

func main() {
	mode := flag.String("mode", "export", "export (tree -> artifact) or import (artifact -> tree)")
	dir := flag.String("dir", "", "the tree: read (export) or filled (import, an empty file system)")
	file := flag.String("file", "", "the artifact: written (export) or read (import)")
	level := flag.Int("level", 3, "zstd level")
	base := flag.String("base", "", "export: write a delta against the tree here (as drd export -x delta=true)")
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
	if err := run(*mode, *dir, *file, *base, *level); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "benchexport:", err)
		os.Exit(1)
	}
}

func run(mode, dir, file, base string, level int) error {
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
		if base != "" { // the manifest of a delta, as clone.Export writes it
			m.Kind = artifact.KindDelta
			m.Origin = identity(base)
			m.Origin.List = pkgdb.Read(base)
			m.Exported = identity(dir)
		}
		w, err := artifact.NewWriter(bw, m, nil)
		if err != nil {
			return err
		}
		st, err := artifact.WriteFS(ctx, w, "root", dir, level, artifact.PackOptions{Base: base})
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
		if err := f.Close(); err != nil {
			return err
		}
		if base != "" {
			return describe(ctx, dir, base, w.Manifest().Members[0].Size)
		}
		return nil
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

func identity(root string) artifact.Identity {
	ps := pkgdb.Read(root)
	return artifact.Identity{OSRelease: pkgdb.OSRelease(root), Packages: pkgdb.Digest(ps), Count: len(ps)}
}

// describe packs the delta of dir against base once more, uncompressed,
// and prints what it holds, one "delta-..." line a figure for the script:
// the compressed member's size, the tar's, and its entries by kind.
func describe(ctx context.Context, dir, base string, member int64) error {
	pr, pw := io.Pipe()
	go func() {
		_, err := artifact.Pack(ctx, dir, pw, artifact.PackOptions{Base: base})
		pw.CloseWithError(err)
	}()
	cr := &counter{r: pr}
	tr := tar.NewReader(cr)
	n := map[string]int{}
	var data int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			pr.CloseWithError(err)
			return err
		}
		switch {
		case h.PAXRecords["DRD.whiteout"] == "1":
			n["whiteouts"]++
		case h.Typeflag == tar.TypeDir:
			n["directories"]++
		case h.Typeflag == tar.TypeReg:
			n["files"]++
			data += h.Size
		case h.Typeflag == tar.TypeSymlink:
			n["symlinks"]++
		default:
			n["other"]++
		}
	}
	io.Copy(io.Discard, cr) // the tar's end
	fmt.Printf("delta-member %d\ndelta-tar %d\ndelta-data %d\n", member, cr.n, data)
	for _, k := range []string{"files", "symlinks", "directories", "whiteouts", "other"} {
		fmt.Printf("delta-%s %d\n", k, n[k])
	}
	return nil
}

type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

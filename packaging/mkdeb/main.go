// Command mkdeb builds drd's Debian package from a built drd and ISL
// initramfs (make deb runs it): mkdeb -drd build/drd -isl
// build/isl/drd-isl.img -version "$(git describe --tags --always --dirty)"
// -o build. See package packaging.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/drd-linux/drd/packaging"
)

func main() {
	var o packaging.Options
	flag.StringVar(&o.Drd, "drd", "build/drd", "the drd executable, stamped with -version")
	flag.StringVar(&o.ISL, "isl", "build/isl/drd-isl.img", "STAGEISL's initramfs (make isl)")
	flag.StringVar(&o.Source, "source", ".", "the repository's top directory (README.md, docs/)")
	flag.StringVar(&o.Version, "version", "", "the version, from git describe --tags --always --dirty")
	flag.StringVar(&o.OutDir, "o", "build", "where the .deb goes")
	date := flag.String("date", "", "the changelog's date, RFC 3339 (the commit's: git log -1 --format=%cI); default now")
	flag.Parse()
	o.Date = time.Now()
	if *date != "" {
		t, err := time.Parse(time.RFC3339, *date)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mkdeb: -date %s: %v\n", *date, err)
			os.Exit(2)
		}
		o.Date = t
	}
	if o.Version == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: mkdeb -version VERSION [-drd FILE] [-isl FILE] [-source DIR] [-o DIR] [-date RFC3339]")
		os.Exit(2)
	}
	deb, err := packaging.Build(context.Background(), o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mkdeb: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(deb) // for make deb's lintian
}

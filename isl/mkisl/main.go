// Command mkisl builds drd's ISL initramfs (make isl): u-root's builder
// in busybox mode, then zstd. Run it from drd's module root.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/drd-linux/drd/isl"
)

func main() {
	dir := flag.String("o", "build/isl", "build directory")
	flag.Parse()
	start := time.Now()
	img, err := isl.Build(context.Background(), ".", *dir, log.Printf)
	if err != nil {
		log.Fatal(err)
	}
	st, err := os.Stat(img)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d bytes (%.2f MiB), built in %s\n", img, st.Size(), float64(st.Size())/(1<<20), time.Since(start).Round(time.Second))
}

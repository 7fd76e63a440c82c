package verify

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/internal/inroot"
)

// job is one file to check against the MD5 its package shipped.
type job struct {
	path, md5, pkg string
	conffile       bool
}

// bufSize is what one read takes: large files are hashed as a stream.
const bufSize = 256 << 10

// hashAll checks the jobs with workers goroutines and returns the
// findings, the files it could not check, and how many files and bytes
// it hashed.
func hashAll(ctx context.Context, tr inroot.Tree, jobs []job, workers int) ([]Finding, []Skip, int, int64) {
	var (
		mu      sync.Mutex
		found   []Finding
		skipped []Skip
		files   int
		bytes   int64
		wg      sync.WaitGroup
	)
	ch := make(chan job)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, bufSize)
			for j := range ch {
				kind, n, err := check(tr, j, buf)
				mu.Lock()
				switch {
				case err != nil:
					skipped = append(skipped, Skip{Path: j.path, Package: j.pkg, Reason: err.Error()})
				case kind != "":
					found = append(found, Finding{Path: j.path, Kind: kind, Package: j.pkg})
				}
				if n >= 0 {
					files++
					bytes += n
				}
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		ch <- j
	}
	close(ch)
	wg.Wait()
	return found, skipped, files, bytes
}

// check hashes one file: the kind of finding ("" if it is as shipped),
// the bytes read (-1 if it was not read), or why it cannot be checked.
func check(tr inroot.Tree, j job, buf []byte) (Kind, int64, error) {
	changed := Modified
	if j.conffile {
		changed = Conffile
	}
	f, err := tr.Open(j.path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_NOATIME, 0)
	if errors.Is(err, unix.EPERM) { // O_NOATIME on a file of another owner, without CAP_FOWNER
		f, err = tr.Open(j.path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	}
	switch {
	case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR):
		if j.conffile {
			return Conffile, -1, nil // removed by the administrator: dpkg keeps it removed
		}
		return Missing, -1, nil
	case err != nil:
		return "", -1, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", -1, fmt.Errorf("examining %s: %w", j.path, err)
	}
	if !fi.Mode().IsRegular() {
		return changed, -1, nil // a directory, device or fifo where the package put a file
	}
	h := md5.New()
	n, err := io.CopyBuffer(h, onlyReader{f}, buf)
	if err != nil {
		return "", -1, fmt.Errorf("reading %s: %w", j.path, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != j.md5 {
		return changed, n, nil
	}
	return "", n, nil
}

// onlyReader hides a file's WriteTo/ReadFrom so that CopyBuffer uses
// the buffer (no sendfile attempts).
type onlyReader struct{ io.Reader }

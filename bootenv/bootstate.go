package bootenv

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv/grub"
	"github.com/drd-linux/drd/internal/inroot"
)

// Where drd keeps its GRUB files, relative to an image's root: the
// environment block that says which image boots, and the menu snippet
// every image's grub.cfg sources.
const (
	BlockPath   = "/boot/grub/drdenv"
	MenuPath    = "/boot/grub/drd.cfg"
	MaxTries    = grub.MaxTries // the GRUB snippet counts down from at most this
	blockSuffix = grub.BlockSuffix
)

// BootState is drd's decision for the boot loader, one copy in every
// image's /boot/grub/drdenv. GRUB reads every copy it finds and obeys the
// one with the highest Seq.
type BootState struct {
	Seq   int64  `json:"seq"`             // every write adds one; the highest copy wins
	Next  string `json:"next"`            // the image every boot uses (during a trial: the last good one)
	Trial string `json:"trial,omitempty"` // the image to try on the next boots, "" for none
	Tries int    `json:"tries"`           // trial boots left; GRUB takes one before each trial boot
	// Watchdog is the deadline in seconds of the softdog a trial boot
	// arms (0: none): drd's menu puts it on the trial's command line. Only
	// drd reads it (GRUB loads no drd_watchdog); a block of an older drd
	// without it means DefaultWatchdogSeconds.
	Watchdog int `json:"watchdog,omitempty"`
}

// Pending reports whether a trial boot is still to come.
func (s BootState) Pending() bool { return s.Trial != "" && s.Tries > 0 }

// Target is the image the next boot uses.
func (s BootState) Target() string {
	if s.Pending() {
		return s.Trial
	}
	return s.Next
}

var imageNameRE = grub.ImageNameRE

func (s BootState) validate() error {
	if s.Seq < 0 || s.Seq > 1<<31-1 {
		return fmt.Errorf("sequence number %d out of range (GRUB on i386-pc compares 32-bit numbers)", s.Seq)
	}
	if !imageNameRE().MatchString(s.Next) {
		return fmt.Errorf("boot target %q is no image name", s.Next)
	}
	if s.Trial != "" && !imageNameRE().MatchString(s.Trial) {
		return fmt.Errorf("trial image %q is no image name", s.Trial)
	}
	if s.Tries < 0 || s.Tries > MaxTries {
		return fmt.Errorf("%d trial boots: want 0 to %d", s.Tries, MaxTries)
	}
	if s.Trial == "" && s.Watchdog != 0 {
		return fmt.Errorf("a trial's watchdog (%d s) without a trial image", s.Watchdog)
	}
	return checkWatchdogSeconds(s.Watchdog)
}

// Env turns the state into GRUB's variables.
func (s BootState) Env() (grub.Env, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	e := grub.Env{
		{Name: "drd_seq", Value: strconv.FormatInt(s.Seq, 10)},
		{Name: "drd_next", Value: s.Next},
		{Name: "drd_trial", Value: s.Trial},
		{Name: "drd_tries", Value: strconv.Itoa(s.Tries)},
	}
	if s.Trial != "" {
		e = append(e, grub.Var{Name: "drd_watchdog", Value: strconv.Itoa(s.Watchdog)})
	}
	return e, nil
}

// StateFromEnv reads the state back from a block's variables.
func StateFromEnv(e grub.Env) (BootState, error) {
	var s BootState
	var err error
	seq, _ := e.Get("drd_seq")
	if s.Seq, err = strconv.ParseInt(seq, 10, 64); err != nil {
		return s, fmt.Errorf("drd_seq=%q: %w", seq, err)
	}
	s.Next, _ = e.Get("drd_next")
	s.Trial, _ = e.Get("drd_trial")
	tries, _ := e.Get("drd_tries")
	if s.Tries, err = strconv.Atoi(tries); err != nil {
		return s, fmt.Errorf("drd_tries=%q: %w", tries, err)
	}
	if wd, ok := e.Get("drd_watchdog"); ok {
		if s.Watchdog, err = strconv.Atoi(wd); err != nil {
			return s, fmt.Errorf("drd_watchdog=%q: %w", wd, err)
		}
	} else if s.Trial != "" {
		s.Watchdog = DefaultWatchdogSeconds
	}
	return s, s.validate()
}

// EncodeState is the 1024-byte block of s.
func EncodeState(s BootState) ([]byte, error) {
	e, err := s.Env()
	if err != nil {
		return nil, err
	}
	return e.Encode()
}

// DecodeState reads a block drd (or GRUB's save_env) wrote.
func DecodeState(b []byte) (BootState, error) {
	e, err := grub.DecodeEnv(b)
	if err != nil {
		return BootState{}, err
	}
	return StateFromEnv(e)
}

// ReadBlock reads the block at path.
func ReadBlock(path string) (BootState, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return BootState{}, err
	}
	s, err := DecodeState(b)
	if err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// readBlockIn is ReadBlock for the block rel in the tree tr (an image's
// boot file system): never through a link that leaves it.
func readBlockIn(tr inroot.Tree, rel string) (BootState, error) {
	b, err := tr.ReadFile(rel)
	if err != nil {
		return BootState{}, err
	}
	s, err := DecodeState(b)
	if err != nil {
		return s, fmt.Errorf("%s in %s: %w", rel, tr.Dir, err)
	}
	return s, nil
}

// writeBlockIn is WriteBlock for the block rel in the tree tr (an
// image's boot file system): an existing block is opened inside tr,
// never through a link (one at rel is replaced, as a missing block is
// made).
func writeBlockIn(tr inroot.Tree, rel string, s BootState) error {
	data, err := EncodeState(s)
	if err != nil {
		return err
	}
	if i := lastVarEnd(data); i > 512 {
		return fmt.Errorf("writing %s: the variables take %d bytes, more than one sector", rel, i)
	}
	f, err := tr.Open(rel, os.O_RDWR|unix.O_NOFOLLOW, 0)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ELOOP) {
			return fmt.Errorf("opening %s in %s: %w", rel, tr.Dir, err)
		}
		if err := tr.MkdirAll(path.Dir(rel), 0o755); err != nil {
			return err
		}
		return tr.WriteFile(rel, data, 0o644)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() || st.Size() != grub.EnvSize {
		f.Close()
		return tr.WriteFile(rel, data, 0o644)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		return fmt.Errorf("writing %s in %s: %w", rel, tr.Dir, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s in %s: %w", rel, tr.Dir, err)
	}
	return f.Close()
}

// WriteBlock writes s to the block at path and syncs it. An existing
// block is overwritten in place, as GRUB's save_env does, so its disk
// blocks stay where GRUB finds them and no journal replay is needed to
// see the new contents; every variable sits in the first 512 bytes, so a
// sector written or not leaves an old or a new block, never a mix. A
// missing block is made by writing a new file and renaming it into place.
func WriteBlock(path string, s BootState) error {
	data, err := EncodeState(s)
	if err != nil {
		return err
	}
	if i := lastVarEnd(data); i > 512 {
		return fmt.Errorf("writing %s: the variables take %d bytes, more than one sector", path, i)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return WriteFileAtomic(path, data, 0o644)
	}
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() != grub.EnvSize {
		f.Close()
		return WriteFileAtomic(path, data, 0o644)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	return f.Close()
}

// lastVarEnd is the offset after the last variable line of a block.
func lastVarEnd(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			return i + 1
		}
	}
	return 0
}

// Freshest picks the state with the highest sequence number, the first
// of equals, as the GRUB snippet does; ok is false when there is none.
func Freshest(states []BootState) (best BootState, index int, ok bool) {
	index = -1
	for i, s := range states {
		if !ok || s.Seq > best.Seq {
			best, index, ok = s, i, true
		}
	}
	return best, index, ok
}

// Command demosys builds (up) or removes (down) a small system image on
// loop-backed image files, for drd's demo: a GPT disk with an ESP, /boot
// and /, and a /home disk, mounted at DIR/root. It never touches a real
// disk of the machine.
//
//	demosys up DIR     build and mount, print the root directory
//	demosys down DIR   unmount and detach everything under DIR
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	"github.com/drd-linux/drd/images"
	"github.com/drd-linux/drd/internal/testsys"
	"github.com/drd-linux/drd/internal/treecmp/treetest"
)

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "up" && os.Args[1] != "down") {
		fmt.Fprintln(os.Stderr, "usage: demosys up|down DIR")
		os.Exit(1)
	}
	dir, err := filepath.Abs(os.Args[2])
	if err == nil {
		if os.Args[1] == "up" {
			err = up(dir)
		} else {
			err = down(dir)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demosys:", err)
		os.Exit(1)
	}
}

func up(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ctx := context.Background()
	s, err := testsys.Build(ctx, dir, testsys.Options{})
	if err != nil {
		return err
	}
	if err := fillEveryKind(filepath.Join(s.Root, "srv/demo")); err != nil {
		s.Close()
		return err
	}
	for _, d := range []string{"/etc", "/usr/share/doc"} {
		if err := copyTree(d, filepath.Join(s.Root, d)); err != nil {
			s.Close()
			return err
		}
	}
	fmt.Println(s.Root)
	return nil
}

// copyTree fills the demo with real files, so it has something to copy.
func copyTree(src, dst string) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil // unreadable: leave it out of the demo
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if _, err := os.Lstat(to); err == nil && !fi.IsDir() {
			return nil // keep the demo's own files (its fstab)
		}
		switch {
		case fi.IsDir():
			return os.MkdirAll(to, 0o755)
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			return os.WriteFile(to, data, fi.Mode().Perm())
		case fi.Mode()&os.ModeSymlink != 0:
			t, _ := os.Readlink(p)
			os.Remove(to)
			return os.Symlink(t, to)
		}
		return nil
	})
}

// down unmounts every mount under dir, deepest first, and detaches the
// loop devices of dir's image files.
func down(dir string) error {
	mounts, err := bootenv.ReadMountinfo("/proc")
	if err != nil {
		return err
	}
	under := bootenv.MountsUnder(mounts, dir)
	slices.Reverse(under)
	for _, m := range under {
		p := filepath.Join(dir, m.MountPoint)
		if err := unix.Unmount(p, 0); err != nil {
			return fmt.Errorf("unmounting %s: %w", p, err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.img"))
	for _, f := range files {
		loops, _ := images.LoopsOf("/sys", f)
		for _, l := range loops {
			if err := images.DetachLoop(l); err != nil {
				return err
			}
		}
	}
	return nil
}

// fillEveryKind makes dir and puts treetest's tree of every kind of entry
// in it: what a clone must copy exactly.
func fillEveryKind(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	_, err := treetest.Build(dir, treetest.Options{})
	return err
}

package runcmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	mb "github.com/drd-linux/drd/internal/minbase"
	"github.com/drd-linux/drd/internal/report"
)

// door is a way out of the jail through drd's own host-side work: a
// package script plants something in the image that drd, on the booted
// system, would follow after the command.
type door struct {
	name         string
	postinst     string                         // $HOSTDIR is a directory of the booted system
	before       func(t *testing.T, dir string) // on the mounted image, before the run
	repair       func(t *testing.T, dir string) // on the mounted image, after the run
	wantErr      string                         // "": the run succeeds
	wantWarn     string
	needs        string // a program the booted system must have
	apt          bool   // apt-get install the package, not dpkg -i
	precheck     bool   // -x precheck_only=true
	notInstalled bool   // the package must not be installed in the image after the run
	// checkLog checks the postinst's output, kept in the image's
	// /var/log/drd-door.log.
	checkLog func(t *testing.T, log string)
}

// devtmpfs is the booted system's /dev, "major:minor" as in mountinfo.
var devtmpfs string

var doors = []door{
	{name: "signal-init", postinst: `for s in ABRT SEGV QUIT BUS ILL TRAP SYS USR1 TERM INT HUP; do kill -$s 1; done
sleep 1
echo survived >/var/log/drd-door.log`,
		checkLog: func(t *testing.T, log string) {
			if !strings.Contains(log, "survived") {
				t.Errorf("the postinst did not run to its end: %q", log)
			}
		}},
	{name: "staging", postinst: `exec >/var/log/drd-door.log 2>&1
try() { name=$1; shift; "$@" >/tmp/err 2>&1; echo "$name: rc=$? $(tr '\n' ' ' </tmp/err)"; }
try fill-out dd if=/dev/zero of=/run/drd/out/fill bs=1M count=64
rm -f /run/drd/out/fill
try write-bin sh -c 'echo x > /run/drd/policy-rc.d'
try replace-hook cp /bin/true /run/drd/drd
try mknod-out sh -c "mknod /run/drd/out/disk b $DISKMAJ $DISKMIN && dd if=/run/drd/out/disk of=/dev/null bs=512 count=1"
try mknod-dev sh -c "mknod /dev/disk b $DISKMAJ $DISKMIN"
try dev-null sh -c 'echo x > /dev/null && head -c 4 /dev/zero | wc -c'
try setuid-out sh -c 'cp /bin/true /run/drd/out/t && chmod 4755 /run/drd/out/t && /run/drd/out/t'
rm -f /run/drd/out/fill /run/drd/out/t /run/drd/out/disk
echo mounts:
cat /proc/self/mountinfo`,
		checkLog: func(t *testing.T, log string) {
			for _, w := range []string{"fill-out: rc=1 ", "No space left on device", "write-bin: rc=2 ", "Read-only file system", "replace-hook: rc=1 ",
				"mknod-out: rc=1 ", "setuid-out: rc=126 ",
				"mknod-dev: rc=1 mknod: /dev/disk: Read-only file system", "dev-null: rc=0 4"} {
				if !strings.Contains(log, w) {
					t.Errorf("the postinst's log lacks %q", w)
				}
			}
			// Every mount of the jail is nodev but its own /dev.
			_, mounts, _ := strings.Cut(log, "mounts:\n")
			for _, l := range strings.Split(strings.TrimSpace(mounts), "\n") {
				f := strings.Fields(l)
				if len(f) < 6 {
					continue
				}
				at, opts := f[4], strings.Split(f[5], ",")
				if at != "/dev" && !strings.HasPrefix(at, "/dev/") && !slices.Contains(opts, "nodev") {
					t.Errorf("%s is not nodev in the jail: %s", at, l)
				}
				if at == "/dev" && !slices.Contains(opts, "ro") {
					t.Errorf("the jail's /dev is writable: %s", l)
				}
				if f[2] == devtmpfs {
					t.Errorf("the booted system's devtmpfs is in the jail: %s", l)
				}
				if strings.HasPrefix(at, "/run/drd") && !slices.Contains(opts, "nosuid") {
					t.Errorf("%s is not nosuid in the jail: %s", at, l)
				}
			}
		}},
	{name: "policy-rc-link", postinst: `echo should not run`,
		before: func(t *testing.T, dir string) {
			if err := os.Symlink("/bin/true", filepath.Join(dir, "usr/sbin/policy-rc.d")); err != nil {
				t.Fatal(err)
			}
		},
		wantErr: "symbolic link", notInstalled: true,
		repair: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "usr/sbin/policy-rc.d")) }},
	{name: "apt-conf-clears-hook", postinst: `echo installed`, apt: true, precheck: true, notInstalled: true,
		before: func(t *testing.T, dir string) {
			// As a package installed earlier would leave it.
			if err := os.WriteFile(filepath.Join(dir, "etc/apt/apt.conf.d/00drd-door"), []byte("#clear DPkg::Pre-Install-Pkgs;\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		repair: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "etc/apt/apt.conf.d/00drd-door")) }},
	{name: "records-link", postinst: `mv /var/opt/drd /var/opt/drd.real && ln -s "$HOSTDIR" /var/opt/drd
update-grub`,
		wantErr: "var/opt/drd",
		repair: func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "var/opt/drd"))
			if err := os.Rename(filepath.Join(dir, "var/opt/drd.real"), filepath.Join(dir, "var/opt/drd")); err != nil {
				t.Fatal(err)
			}
		}},
	{name: "stale-mark-link", postinst: `ln -sf "$HOSTDIR/victim" /var/opt/drd/grub-cfg-stale
update-grub`,
		repair: func(t *testing.T, dir string) {
			fi, err := os.Lstat(filepath.Join(dir, bootenv.GrubCfgStale))
			if err != nil || !fi.Mode().IsRegular() {
				t.Errorf("the image's stale mark: %v %v, want drd's file in place of the link", fi, err)
			}
			os.Remove(filepath.Join(dir, bootenv.GrubCfgStale))
		}},
	{name: "boot-grub-link", needs: "grub-install", postinst: `rm -rf /boot/grub && ln -s "$HOSTDIR/grub" /boot/grub
grub-install /dev/sda`,
		wantWarn: "symbolic link",
		before: func(t *testing.T, dir string) {
			// The link's target inside the image has GRUB for BIOS too:
			// only the refusal of links keeps grub-install off.
			if err := os.MkdirAll(filepath.Join(dir, os.Getenv("DRD_TEST_HOSTDIR"), "grub/i386-pc"), 0o755); err != nil {
				t.Fatal(err)
			}
		},
		repair: func(t *testing.T, dir string) {
			os.RemoveAll(filepath.Join(dir, os.Getenv("DRD_TEST_HOSTDIR")))
			os.Remove(filepath.Join(dir, "boot/grub"))
			os.Remove(filepath.Join(dir, bootenv.GrubCfgStale))
		}},
}

// TestRuncmdDoors runs, each in its own subtest on one shared clone, a
// package whose postinst plants a link for drd's after-command work (the
// record, the stale mark, GRUB's install); after each, the booted
// system's directory the links name, and its own record, are unchanged.
// It runs on each Debian release.
func TestRuncmdDoors(t *testing.T) {
	forReleases(t, runcmdDoors)
}

func runcmdDoors(t *testing.T, sys mb.System) {
	ctx := context.Background()
	s := clonedMinbaseOf(t, ctx, sys)
	root := s.Root
	name := cloneName(t, ctx, root)
	depot := t.TempDir()
	os.Chmod(depot, 0o755)
	hostDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(hostDir, "grub/i386-pc"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(hostDir, "victim"), []byte("the booted system's\n"), 0o644)
	t.Setenv("DRD_TEST_HOSTDIR", hostDir)
	var disk, devNull unix.Stat_t
	if err := unix.Stat(s.Disk, &disk); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat("/dev/null", &devNull); err != nil {
		t.Fatal(err)
	}
	devtmpfs = fmt.Sprintf("%d:%d", unix.Major(devNull.Dev), unix.Minor(devNull.Dev))
	exe, _ := os.Executable()
	out, _ := os.Create(filepath.Join(t.TempDir(), "out"))
	defer out.Close()
	for _, d := range doors {
		t.Run(d.name, func(t *testing.T) {
			if d.needs != "" {
				if _, err := exec.LookPath(d.needs); err != nil {
					t.Skipf("needs %s", d.needs)
				}
			}
			pkg := "drd-door-" + d.name
			postinst := fmt.Sprintf("#!/bin/sh\nexport HOSTDIR=%s DISKMAJ=%d DISKMIN=%d\n%s\nexit 0\n", hostDir, unix.Major(disk.Rdev), unix.Minor(disk.Rdev), d.postinst)
			deb := makeDeb(t, depot, pkg, "", map[string]string{"postinst": postinst}, nil)
			host := hashTree(t, hostDir, ".")
			booted := hashTree(t, root, "etc", "usr/sbin", "var/lib/dpkg", bootenv.RecordPath)
			// Mounted first, so that drd finds the image by its record
			// before the attack, and the test can repair it after.
			dir, err := bootenv.Mount(ctx, root, name, report.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := bootenv.Umount(context.Background(), root, name, report.Discard); err != nil {
					t.Error(err)
				}
			}()
			if d.before != nil {
				d.before(t, dir)
			}
			r := &recorder{t: t}
			argv := []string{"dpkg", "-i", deb}
			if d.apt {
				argv = []string{"apt-get", "install", "-y", deb}
			}
			err = Run(ctx, Options{Root: root, Image: name, Argv: argv, Depots: []string{depot}, PrecheckOnly: d.precheck,
				Name: pkg, User: "tester", Stdio: Stdio{Out: out, Err: out}, Exe: exe, Env: []string{"DEBIAN_FRONTEND=noninteractive"}}, r)
			data, _ := os.ReadFile(out.Name())
			t.Logf("drd runcmd %s: %v\n%s", strings.Join(argv, " "), err, data)
			out.Truncate(0)
			out.Seek(0, 0)
			switch {
			case d.wantErr == "" && err != nil:
				t.Errorf("drd runcmd: %v", err)
			case d.wantErr != "" && (err == nil || !strings.Contains(err.Error(), d.wantErr)):
				t.Errorf("drd runcmd: %v, want an error naming %s", err, d.wantErr)
			}
			if d.wantWarn != "" && !strings.Contains(strings.Join(r.warns, "\n"), d.wantWarn) {
				t.Errorf("no warning saying %q in %q", d.wantWarn, r.warns)
			}
			if h := hashTree(t, hostDir, "."); h != host {
				ents, _ := os.ReadDir(hostDir)
				t.Errorf("the booted system's directory %s changed: %v", hostDir, ents)
			}
			if b, _ := os.ReadFile(filepath.Join(hostDir, "victim")); string(b) != "the booted system's\n" {
				t.Errorf("the booted system's file was written: %q", b)
			}
			if _, err := os.Stat(filepath.Join(hostDir, "grub/i386-pc/boot.img")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("GRUB was installed into the booted system's directory: %v", err)
			}
			if h := hashTree(t, root, "etc", "usr/sbin", "var/lib/dpkg", bootenv.RecordPath); h != booted {
				t.Error("the booted system image's files changed")
			}
			if _, err := os.Lstat(filepath.Join(dir, "usr/sbin/policy-rc.d")); err == nil && d.name != "policy-rc-link" {
				t.Error("the placeholder /usr/sbin/policy-rc.d was left in the image")
			}
			if d.checkLog != nil {
				log, err := os.ReadFile(filepath.Join(dir, "var/log/drd-door.log"))
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("the postinst's log:\n%s", log)
				d.checkLog(t, string(log))
			}
			if v := installed(dir, pkg); d.notInstalled && v != "" {
				t.Errorf("%s %s is installed in the image", pkg, v)
			}
			if d.repair != nil {
				d.repair(t, dir)
			}
		})
	}
}

package runcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drd-linux/drd/bootenv"
	mb "github.com/drd-linux/drd/internal/minbase"
	"github.com/drd-linux/drd/pkgdb"
)

// TestRuncmdReleases runs drd runcmd with each Debian release's own apt
// and dpkg (Debian 12: apt 2.6, dpkg 1.21; Debian 13: apt 3, dpkg 1.22)
// on a clone of its minbase: a package from deb.debian.org through the
// jail's network (slirp4netns), judged by the precheck first; the apt hook's
// input on the descriptor an image's apt configuration names
// (APT_HOOK_INFO_FD); a conffile question of dpkg answered through the
// relayed terminal.
func TestRuncmdReleases(t *testing.T) {
	forReleases(t, runcmdRelease)
}

func runcmdRelease(t *testing.T, sys mb.System) {
	ctx := context.Background()
	s := clonedMinbaseOf(t, ctx, sys)
	root := s.Root
	depot := t.TempDir()
	os.Chmod(depot, 0o755)
	exe, _ := os.Executable()
	out, _ := os.Create(filepath.Join(t.TempDir(), "out"))
	defer out.Close()
	run := func(ctx context.Context, o Options) (*recorder, string, error) {
		r := &recorder{t: t}
		o.Root, o.Exe = root, exe
		if o.Stdio == (Stdio{}) {
			o.Stdio = Stdio{Out: out, Err: out}
		}
		o.Depots = append(o.Depots, depot)
		err := Run(ctx, o, r)
		data, _ := os.ReadFile(out.Name())
		t.Logf("drd runcmd %s: %v\n%s", strings.Join(o.Argv, " "), err, data)
		out.Truncate(0)
		out.Seek(0, 0)
		return r, string(data), err
	}
	booted := hashTree(t, root, "etc", "usr/bin", "var/lib/dpkg")

	t.Run("apt-network", func(t *testing.T) {
		if c, err := net.DialTimeout("tcp", "deb.debian.org:80", 10*time.Second); err != nil {
			t.Skipf("the booted system does not reach deb.debian.org (%v)", err)
		} else {
			c.Close()
		}
		if _, _, err := run(ctx, Options{Argv: []string{"apt-get", "update"}}); err != nil {
			t.Fatal(err)
		}
		_, js, err := run(ctx, Options{Argv: []string{"apt-get", "install", "-y", "hello"}, PrecheckOnly: true, ReportJSON: true})
		if err != nil {
			t.Fatal(err)
		}
		var rep Report
		if err := json.Unmarshal([]byte(js), &rep); err != nil {
			t.Fatalf("the JSON report: %v\n%s", err, js)
		}
		if rep.Result != "ok" || len(rep.Packages) != 1 || rep.Packages[0].Package != "hello" || rep.Packages[0].Action != "install" || rep.Packages[0].Version == "" {
			t.Fatalf("precheck report %+v, want hello judged for install", rep)
		}
		inImage(t, root, func(dir string) {
			if v := pkgdb.Read(dir)["hello:amd64"]; v != "" {
				t.Errorf("the precheck installed hello %s", v)
			}
			debs, _ := filepath.Glob(filepath.Join(dir, "var/cache/apt/archives/hello_*.deb"))
			if len(debs) != 1 {
				t.Errorf("the precheck left %q in the image's cache, want hello's .deb", debs)
			}
		})
		if _, _, err := run(ctx, Options{Argv: []string{"apt-get", "install", "-y", "hello"}, Env: []string{"DEBIAN_FRONTEND=noninteractive"}}); err != nil {
			t.Fatal(err)
		}
		inImage(t, root, func(dir string) {
			if v := pkgdb.Read(dir)["hello:amd64"]; v != rep.Packages[0].Version {
				t.Errorf("hello is %q in the clone, want %s installed", v, rep.Packages[0].Version)
			}
			if _, err := os.Stat(filepath.Join(dir, "usr/bin/hello")); err != nil {
				t.Error(err)
			}
		})
		if ev := lastEventLog(t, root); len(ev.Succeed) != 1 || ev.Succeed[0] != "hello="+rep.Packages[0].Version {
			t.Errorf("event record %+v", ev)
		}
	})

	t.Run("hook-info-fd", func(t *testing.T) {
		// An image whose apt configuration has apt write the hook's
		// input to descriptor 20 (DPkg::Tools::Options::<hook>::InfoFD):
		// the hook reads it there, and judges.
		conf := "etc/apt/apt.conf.d/00drd-infofd"
		inImage(t, root, func(dir string) {
			if err := os.WriteFile(filepath.Join(dir, conf), []byte(`DPkg::Tools::Options::`+stagingDir+`/drd::InfoFD "20";`+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		})
		defer inImage(t, root, func(dir string) { os.Remove(filepath.Join(dir, conf)) })
		deb := makeDeb(t, depot, "drd-infofd", "", map[string]string{"postinst": "#!/bin/sh\nset -e\nefibootmgr -o 0001,0000\n"}, nil)
		_, text, err := run(ctx, Options{Argv: []string{"apt-get", "install", "-y", deb}, PrecheckOnly: true})
		if !errors.Is(err, ErrRefused) || !strings.Contains(text, "install drd-infofd 1.0-1: UNSAFE") {
			t.Errorf("precheck of an unsafe package, the hook's input on fd 20: %v, want refused naming it", err)
		}
		if _, _, err := run(ctx, Options{Argv: []string{"apt-get", "install", "-y", deb}}); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "drd-infofd") {
			t.Errorf("apt-get install of an unsafe package, the hook's input on fd 20: %v, want refused naming it", err)
		}
		inImage(t, root, func(dir string) {
			if v := installed(dir, "drd-infofd"); v != "" {
				t.Errorf("drd-infofd %s is installed in the clone", v)
			}
		})
	})

	t.Run("apt-boot-shims", func(t *testing.T) {
		// A kernel's zz-update-grub hook, installed through apt: apt
		// runs dpkg with PATH set to DPkg::Path, and the hook must
		// still find drd's update-grub, not the image's (which would
		// probe the booted system's disks) nor none.
		postinst := "#!/bin/sh\nset -e\necho \"postinst PATH=$PATH\"\ncommand -v update-grub >/dev/null || { echo 'no update-grub in PATH' >&2; exit 1; }\nexec update-grub\n"
		deb := makeDeb(t, depot, "drd-kernel-hook", "", map[string]string{"postinst": postinst}, nil)
		_, text, err := run(ctx, Options{Argv: []string{"apt-get", "install", "-y", deb}, Env: []string{"DEBIAN_FRONTEND=noninteractive"}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, `drd runcmd: skipped "update-grub"`) {
			t.Errorf("the postinst's update-grub was not drd's shim")
		}
		inImage(t, root, func(dir string) {
			if _, err := os.Stat(filepath.Join(dir, bootenv.GrubCfgStale)); err != nil {
				t.Errorf("the clone's grub.cfg is not marked for regeneration: %v", err)
			}
		})
	})

	t.Run("kernel-marks-grub-cfg", func(t *testing.T) {
		// A kernel package whose hooks never call update-grub (Debian
		// 13's zz-update-grub skips it: systemd-detect-virt calls the
		// jail a container): the clone's grub.cfg is marked all the same.
		mark := bootenv.GrubCfgStale
		inImage(t, root, func(dir string) { os.Remove(filepath.Join(dir, mark)) })
		deb := makeDeb(t, depot, "linux-image-0.0.1-drd-amd64", "", map[string]string{"postinst": "#!/bin/sh\nexit 0\n"}, nil)
		if _, _, err := run(ctx, Options{Argv: []string{"dpkg", "-i", deb}}); err != nil {
			t.Fatal(err)
		}
		inImage(t, root, func(dir string) {
			if _, err := os.Stat(filepath.Join(dir, mark)); err != nil {
				t.Errorf("a kernel package changed and the clone's grub.cfg is not marked for regeneration: %v", err)
			}
		})
	})

	t.Run("conffile-prompt", func(t *testing.T) {
		// dpkg's own question about a changed conffile, on the
		// operator's terminal (a pseudo-terminal the test drives),
		// answered through drd's relay.
		mk := func(version, content string) string {
			dir := filepath.Join(t.TempDir(), "v"+version)
			os.MkdirAll(filepath.Join(dir, "DEBIAN"), 0o755)
			os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
			os.WriteFile(filepath.Join(dir, "DEBIAN/control"), []byte("Package: drd-conf\nVersion: "+version+"\nArchitecture: all\nMaintainer: drd tests <drd@example.org>\nDescription: drd test package\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "DEBIAN/conffiles"), []byte("/etc/drd-conf.conf\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "etc/drd-conf.conf"), []byte(content), 0o644)
			deb := filepath.Join(depot, "drd-conf_"+version+".deb")
			if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-b", dir, deb).CombinedOutput(); err != nil {
				t.Fatalf("dpkg-deb: %v\n%s", err, out)
			}
			return deb
		}
		v1, v2 := mk("1", "shipped 1\n"), mk("2", "shipped 2\n")
		if _, _, err := run(ctx, Options{Argv: []string{"dpkg", "-i", v1}}); err != nil {
			t.Fatal(err)
		}
		inImage(t, root, func(dir string) {
			os.WriteFile(filepath.Join(dir, "etc/drd-conf.conf"), []byte("changed by the administrator\n"), 0o644)
		})
		ptm, pts, err := openPTY()
		if err != nil {
			t.Fatal(err)
		}
		defer ptm.Close()
		defer pts.Close()
		if err := unix.IoctlSetWinsize(int(pts.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120}); err != nil {
			t.Fatal(err)
		}
		var screen bytes.Buffer
		answered := make(chan struct{})
		go func() { // the operator: reads the question, answers Y
			buf := make([]byte, 4096)
			for {
				n, err := ptm.Read(buf)
				screen.Write(buf[:n])
				if strings.Contains(screen.String(), "[default=N] ?") {
					ptm.Write([]byte("Y\r"))
					break
				}
				if err != nil {
					break
				}
			}
			close(answered)
			for {
				if _, err := ptm.Read(buf); err != nil {
					return
				}
			}
		}()
		_, _, err = run(ctx, Options{Argv: []string{"dpkg", "-i", v2}, Stdio: Stdio{In: pts, Out: pts, Err: pts}})
		select {
		case <-answered:
		case <-time.After(5 * time.Second):
			t.Fatalf("no conffile question on the operator's terminal:\n%s", screen.String())
		}
		t.Logf("the operator's terminal:\n%s", screen.String())
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"Configuration file '/etc/drd-conf.conf'", "==> Modified (by you or by a script) since installation.", "==> Package distributor has shipped an updated version."} {
			if !strings.Contains(screen.String(), w) {
				t.Errorf("the question lacks %q", w)
			}
		}
		inImage(t, root, func(dir string) {
			if b, _ := os.ReadFile(filepath.Join(dir, "etc/drd-conf.conf")); string(b) != "shipped 2\n" {
				t.Errorf("the conffile holds %q after the answer Y, want the package's new version", b)
			}
			if b, err := os.ReadFile(filepath.Join(dir, "etc/drd-conf.conf.dpkg-old")); err != nil || string(b) != "changed by the administrator\n" {
				t.Errorf("the administrator's version: %q %v, want it kept as .dpkg-old", b, err)
			}
			if v := installed(dir, "drd-conf"); v != "2" {
				t.Errorf("drd-conf is %q in the clone, want 2", v)
			}
		})
	})

	if h := hashTree(t, root, "etc", "usr/bin", "var/lib/dpkg"); h != booted {
		t.Error("the booted system image's files changed")
	}
}

package runcmd

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestPlan(t *testing.T) {
	in := PlanInput{Root: "/var/opt/drd/mnts/sysimage_001/", Image: "sysimage_001", Argv: []string{"apt-get", "install", "-y", "x"},
		Env:    []string{"TERM=xterm", "LC_ALL=C", "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/0/bus", "LD_PRELOAD=/evil.so", "http_proxy=http://p:3128", "PATH=/home/me/bin", "DEBIAN_FRONTEND=noninteractive", "SYSTEMD_OFFLINE=0"},
		Depots: []string{"/srv/repo/"}, Staging: true,
		ResolvConf: "nameserver 10.0.0.1\n", ResolvTarget: "/run/systemd/resolve/stub-resolv.conf"}
	s := Plan(in)
	if s.Root != "/var/opt/drd/mnts/sysimage_001" {
		t.Errorf("root %s", s.Root)
	}
	wantEnv := []string{"PATH=/run/drd/bin:" + jailPath, "HOME=/root", "SW_SESSION_IS_DRD=1", "SYSTEMD_OFFLINE=1", "DRD_IMAGE=sysimage_001", "APT_CONFIG=/run/drd/apt.conf", "TERM=xterm", "LC_ALL=C", "http_proxy=http://p:3128", "DEBIAN_FRONTEND=noninteractive"}
	for _, e := range wantEnv {
		if !slices.Contains(s.Env, e) {
			t.Errorf("env lacks %s: %q", e, s.Env)
		}
	}
	for _, e := range s.Env {
		if strings.HasPrefix(e, "DBUS") || strings.HasPrefix(e, "LD_") || e == "PATH=/home/me/bin" || e == "SYSTEMD_OFFLINE=0" {
			t.Errorf("env keeps %s", e)
		}
	}
	// Steps that must be there, in this order.
	order := []string{"fs /proc proc", "bind /proc/sys ro", "fs /sys sysfs", "fs /dev tmpfs", "node /dev/null", "bind /proc/kcore ro", "fs /dev/pts devpts",
		"fs /run tmpfs", "write /run/systemd/resolve/stub-resolv.conf", "mountfd /run/drd", "mountfd /run/drd/out", "bind /usr/sbin/policy-rc.d ro", "ro /dev", "bind /srv/repo ro"}
	var steps []string
	for _, m := range s.Mounts {
		st := m.Kind + " " + m.Target
		if m.Type != "" {
			st += " " + m.Type
		}
		if m.ReadOnly {
			st += " ro"
		}
		steps = append(steps, st)
		if m.Kind == KindBind && m.Target == "/proc/sys" && m.Source != "/var/opt/drd/mnts/sysimage_001/proc/sys" {
			t.Errorf("/proc/sys bound from %s", m.Source)
		}
		if m.Kind == KindFile && m.Target == "/usr/sbin/policy-rc.d" && !m.Placeholder {
			t.Error("policy-rc.d is not a placeholder though the image has none")
		}
		if m.Kind == KindDir && m.Target == "/srv/repo" && !m.Placeholder {
			t.Error("the depot's mount point is not a placeholder: it would be left in the image")
		}
	}
	i := 0
	for _, st := range steps {
		if i < len(order) && st == order[i] {
			i++
		}
	}
	if i < len(order) {
		t.Errorf("step %q missing or out of order in\n%s", order[i], strings.Join(steps, "\n"))
	}
	if len(s.Drop) != len(Dropped) || !s.Net || !s.Slirp {
		t.Errorf("drop %d caps, net %v, slirp %v", len(s.Drop), s.Net, s.Slirp)
	}
	// The network modes: own namespace through slirp4netns (default), own
	// namespace with only loopback, the booted system's.
	for _, tc := range []struct {
		noNet, hostNet, net, slirp bool
	}{{false, false, true, true}, {true, false, true, false}, {false, true, false, false}} {
		if p := Plan(PlanInput{Root: "/x", Argv: []string{"true"}, NoNet: tc.noNet, HostNet: tc.hostNet}); p.Net != tc.net || p.Slirp != tc.slirp {
			t.Errorf("NoNet %v HostNet %v: Net %v Slirp %v", tc.noNet, tc.hostNet, p.Net, p.Slirp)
		}
	}
	for _, c := range s.Drop {
		if c.Name == "cap_chown" || c.Name == "cap_setuid" || c.Name == "cap_dac_override" {
			t.Errorf("%s dropped: dpkg needs it", c.Name)
		}
	}
}

func TestInRoot(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "real/dir"), 0o755)
	os.Symlink("/real", filepath.Join(root, "abs"))
	os.Symlink("../../../../real", filepath.Join(root, "climb"))
	os.Symlink("/", filepath.Join(root, "top"))
	os.Symlink("loop2", filepath.Join(root, "loop1"))
	os.Symlink("loop1", filepath.Join(root, "loop2"))
	for _, tc := range []struct{ in, want string }{
		{"/etc/resolv.conf", "/etc/resolv.conf"},
		{"/abs/dir/x", "/real/dir/x"},
		{"/climb/dir", "/real/dir"},
		{"/top/etc/passwd", "/etc/passwd"},
		{"/../../etc", "/etc"},
		{"/abs", "/abs"}, // the last component is not followed
	} {
		got, err := inRoot(root, tc.in)
		if err != nil || got != filepath.Join(root, tc.want) {
			t.Errorf("inRoot(%s) = %s, %v; want %s", tc.in, got, err, filepath.Join(root, tc.want))
		}
	}
	if _, err := inRoot(root, "/loop1/x"); err == nil {
		t.Error("a link loop was followed forever")
	}
}

func TestParseOps(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want Ops
	}{
		{[]string{"dpkg", "-i", "/srv/a.deb", "b.deb"}, Ops{Debs: []string{"/srv/a.deb", "b.deb"}}},
		{[]string{"/usr/bin/dpkg", "--force-confold", "--install", "/srv/a.deb"}, Ops{Debs: []string{"/srv/a.deb"}}},
		{[]string{"dpkg", "-l", "a.deb"}, Ops{}},
		{[]string{"dpkg", "--purge", "nginx", "nginx-common"}, Ops{Removes: []string{"nginx", "nginx-common"}}},
		{[]string{"dpkg", "-r", "nginx"}, Ops{Removes: []string{"nginx"}}},
		{[]string{"dpkg-reconfigure", "-fnoninteractive", "tzdata"}, Ops{Reconfigure: []string{"tzdata"}}},
		{[]string{"rpm", "-Uvh", "/srv/a.rpm", "--nodeps"}, Ops{RPMs: []string{"/srv/a.rpm"}}},
		{[]string{"rpm", "-e", "nginx"}, Ops{RPMRemoves: []string{"nginx"}}},
		{[]string{"rpm", "-qi", "nginx"}, Ops{}},
		{[]string{"dnf", "install", "-y", "/srv/a.rpm", "nginx"}, Ops{RPMs: []string{"/srv/a.rpm"}}},
		{[]string{"apt-get", "-o", "Dir::Etc::SourceList=/srv/d/list", "install", "-y", "./a.deb"}, Ops{Apt: true}},
		{[]string{"apt", "-t", "bookworm-backports", "full-upgrade"}, Ops{Apt: true}},
		{[]string{"apt-get", "-o", "install", "update"}, Ops{}},
		{[]string{"apt-get", "update"}, Ops{}},
	} {
		if got := ParseOps(tc.argv); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %+v, want %+v", tc.argv, got, tc.want)
		}
	}
}

// TestParseAptHook reads what apt 2.6 (bookworm) wrote to a
// Pre-Install-Pkgs hook of version 3: an install of a local .deb, and a
// removal.
func TestParseAptHook(t *testing.T) {
	in := "VERSION 3\nAPT::Architecture=amd64\nDPkg::Tools::Options::/run/drd/drd::Version=3\n\n" +
		"probe - - none < 1 all none /tmp/probe.deb\n" +
		"probe - - none < 1 all none **CONFIGURE**\n" +
		"nginx-common 1.22.1-9 all foreign < 1.22.1-9+deb12u1 all foreign /var/cache/apt/archives/nginx-common_1.22.1-9+deb12u1_all.deb\n" +
		"psmisc 23.6-1 amd64 foreign > - - none **REMOVE**\n"
	ops, err := ParseAptHook(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []AptOp{
		{Package: "probe", NewVersion: "1", Arch: "all", Action: "install", File: "/tmp/probe.deb"},
		{Package: "probe", NewVersion: "1", Arch: "all", Action: "configure"},
		{Package: "nginx-common", OldVersion: "1.22.1-9", NewVersion: "1.22.1-9+deb12u1", Arch: "all", Action: "install", File: "/var/cache/apt/archives/nginx-common_1.22.1-9+deb12u1_all.deb"},
		{Package: "psmisc", OldVersion: "23.6-1", Arch: "amd64", Action: "remove"},
	}
	if !reflect.DeepEqual(ops, want) {
		t.Errorf("got %+v\nwant %+v", ops, want)
	}
	for _, bad := range []string{"/tmp/a.deb\n", "VERSION 3\n\nprobe - - none < 1 all\n"} {
		if _, err := ParseAptHook(strings.NewReader(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestAptHookOnCommandLine: the command's apt gets drd's hook as options,
// which no apt.conf.d file can clear; the hook of drd's apt.conf steps
// aside when apt lists the command line's.
func TestAptHookOnCommandLine(t *testing.T) {
	s := Plan(PlanInput{Root: "/mnt/x", Argv: []string{"apt-get", "install", "-y", "x"}, Staging: true})
	want := append(append([]string{"apt-get"}, aptArgs...), "install", "-y", "x")
	if !reflect.DeepEqual(s.Argv, want) {
		t.Errorf("argv %q, want %q", s.Argv, want)
	}
	if s := Plan(PlanInput{Root: "/mnt/x", Argv: []string{"dpkg", "-i", "x.deb"}, Staging: true}); !reflect.DeepEqual(s.Argv, []string{"dpkg", "-i", "x.deb"}) {
		t.Errorf("dpkg's argv changed: %q", s.Argv)
	}
	if !slices.Contains(aptArgs, "DPkg::Pre-Install-Pkgs::="+hookCmd) {
		t.Errorf("aptArgs %q lack the hook", aptArgs)
	}
	both := "VERSION 3\nDPkg::Pre-Install-Pkgs::=/run/drd/drd __inspect --from-apt-conf\nDPkg::Pre-Install-Pkgs::=/run/drd/drd __inspect\n\nx - - none < 1 all none **CONFIGURE**\n"
	confOnly := "VERSION 3\nDPkg::Pre-Install-Pkgs::=/run/drd/drd __inspect --from-apt-conf\n\nx - - none < 1 all none **CONFIGURE**\n"
	if !hookedTwice(both) || hookedTwice(confOnly) {
		t.Errorf("hookedTwice: %v %v, want true false", hookedTwice(both), hookedTwice(confOnly))
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "out"), 0o755)
	var stderr strings.Builder
	if code := inspectMain(strings.NewReader(both), &stderr, dir, true); code != 0 {
		t.Errorf("the apt.conf hook beside the command line's: %d %s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "out", verdictsFile)); err == nil {
		t.Error("the apt.conf hook judged although the command line's does")
	}
}

// TestDepotChecked: a depot is a directory, bound read-only, nodev,
// nosuid, noexec.
func TestDepotChecked(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o644)
	if err := checkDepots([]string{dir}); err != nil {
		t.Error(err)
	}
	for _, d := range []string{file, "rel/dir", filepath.Join(dir, "missing")} {
		if err := checkDepots([]string{d}); err == nil || !strings.Contains(err.Error(), "depot="+d) {
			t.Errorf("checkDepots(%s) = %v, want an error naming it", d, err)
		}
	}
	s := Plan(PlanInput{Root: "/mnt/x", Argv: []string{"true"}, Depots: []string{"/srv/repo"}})
	for _, m := range s.Mounts {
		if m.Kind == KindBind && m.Target == "/srv/repo" {
			if !m.ReadOnly || !m.Dir || m.Flags&noDev != noDev {
				t.Errorf("the depot's bind %+v, want read-only, a directory, nodev,nosuid,noexec", m)
			}
			return
		}
	}
	t.Error("no bind of the depot")
}

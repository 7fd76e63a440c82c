package runcmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drd-linux/drd/internal/report"
)

// runJail runs argv in a jail on root and returns what it wrote.
func runJail(t *testing.T, ctx context.Context, in PlanInput) (*Result, string, error) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	spec := Plan(in)
	if in.Staging {
		exe, _ := os.Executable()
		st, err := newStage(inspectConfig{}, exe)
		if err != nil {
			t.Fatal(err)
		}
		defer st.close()
		spec.Files = st.files()
	}
	res, err := Jail{Kill: 3 * time.Second}.Run(ctx, spec, Stdio{Out: out, Err: out}, report.Func(t.Logf))
	data, _ := os.ReadFile(out.Name())
	t.Logf("%q: %+v %v\n%s", in.Argv, res, err, data)
	return res, string(data), err
}

// TestJailContainsAttacks runs every unsafe action of the white paper in
// the jail and checks that each was refused, and that the booted
// system's live state did not change.
func TestJailContainsAttacks(t *testing.T) {
	root := minbase(t)
	for _, f := range []string{"root/attack.sh", "etc/drd-attack", "root/disk"} {
		t.Cleanup(func() { os.Remove(filepath.Join(root, f)) })
	}
	if err := os.WriteFile(filepath.Join(root, "root/attack.sh"), []byte(attackScript), 0o755); err != nil {
		t.Fatal(err)
	}
	hostDir := t.TempDir()
	sock := filepath.Join(hostDir, "daemon.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	victim := sentinel(t)
	before := readHost(t)

	res, out, err := runJail(t, context.Background(), PlanInput{Root: root, Image: "test", Staging: true,
		Argv: []string{"/root/attack.sh", strconv.Itoa(victim.Process.Pid), hostDir, sock, longSleep}})
	if len(res.Placeholders) != 1 {
		t.Errorf("placeholders %q, want /usr/sbin/policy-rc.d", res.Placeholders)
	}
	if err := RemovePlaceholders(root, res.Placeholders); err != nil {
		t.Error(err)
	}
	if _, err := os.Lstat(filepath.Join(root, "usr/sbin/policy-rc.d")); err == nil {
		t.Error("the placeholder /usr/sbin/policy-rc.d was left in the image")
	}
	if err != nil {
		t.Fatal(err)
	}
	checkAttacks(t, out)
	before.same(t, readHost(t))
	alive(t, victim)
	if _, err := os.Stat("/etc/drd-attack"); err == nil {
		t.Error("the jail wrote /etc/drd-attack on the booted system")
	}
	if _, err := os.Stat(filepath.Join(root, "etc/drd-attack")); err != nil {
		t.Errorf("the jail's write did not land in the image: %v", err)
	}
	// The two daemons it left: named, the one ignoring SIGTERM killed.
	var names []string
	for _, p := range res.Leftovers {
		names = append(names, p.Cmdline)
	}
	if len(res.Leftovers) != 2 || len(res.Killed) != 1 {
		t.Errorf("leftovers %q, killed %v: want the two sleeps, one killed", names, res.Killed)
	}
	if len(res.Escaped) != 0 {
		t.Errorf("processes %v outlived the jail's init", res.Escaped)
	}
	if pids := sleepers(t); len(pids) > 0 {
		t.Errorf("the jail's sleeps still run on the booted system: %v", pids)
	}
}

// sleepers lists the booted system's processes running "sleep
// longSleep": the daemons this test process's jailed commands started
// (not the sentinels, "sleep 3600", nor another test binary's).
func sleepers(t *testing.T) []string {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || string(cmd) != "sleep\x00"+longSleep+"\x00" {
			continue
		}
		out = append(out, e.Name())
	}
	return out
}

// TestJailKillAll: kill -9 -1 in the jail ends only the jail's processes.
func TestJailKillAll(t *testing.T) {
	root := minbase(t)
	victim := sentinel(t)
	res, _, err := runJail(t, context.Background(), PlanInput{Root: root, Argv: []string{"sh", "-c", "sleep 60 & kill -9 -1; sleep 1; echo survived"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Exit != 0 && res.Signal == "" {
		t.Errorf("exit %d", res.Exit)
	}
	alive(t, victim)
}

// TestJailCancel: a cancelled context ends the command with SIGTERM and
// says so.
func TestJailCancel(t *testing.T) {
	root := minbase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, _, err := runJail(t, ctx, PlanInput{Root: root, Argv: []string{"sleep", longSleep}})
	if err == nil || ctx.Err() == nil {
		t.Fatalf("err %v, want the context's", err)
	}
	if res == nil || res.Signal != "SIGTERM" {
		t.Errorf("result %+v, want the command ended by SIGTERM", res)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancel took %v", d)
	}
	if pids := sleepers(t); len(pids) > 0 {
		t.Errorf("sleep outlived the jail: %v", pids)
	}
}

// TestJailNoNetwork: with NoNet the jail has only a loopback link; an
// abstract socket of the booted system is out of reach unless HostNet.
func TestJailNoNetwork(t *testing.T) {
	root := minbase(t)
	l, err := net.Listen("unix", "@drd-test-"+strconv.Itoa(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	probe := `ip -o link | wc -l; perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Peer => "\0" . $ARGV[0]) ? print "reached\n" : print "refused: $!\n"' ` + l.Addr().String()[1:]
	for _, host := range []bool{false, true} {
		_, out, err := runJail(t, context.Background(), PlanInput{Root: root, NoNet: !host, HostNet: host, Argv: []string{"sh", "-c", probe}})
		if err != nil {
			t.Fatal(err)
		}
		if reached := strings.Contains(out, "reached"); host != reached {
			t.Errorf("HostNet %v: %s", host, out)
		}
		if !host && !strings.HasPrefix(out, "1\n") {
			t.Errorf("NoNet: links %q, want only the loopback", out)
		}
	}
}

// TestJailNoRouteOut: on a booted system with no default route (a VM
// with no network), slirp4netns has no way out; the jail runs with no network,
// as -x network=false, and says so, instead of failing the command.
func TestJailNoRouteOut(t *testing.T) {
	root := minbase(t)
	proc := t.TempDir() // a namespace whose routing tables are empty
	if err := os.MkdirAll(filepath.Join(proc, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(proc, "net/route"), []byte(route4Header), 0o644)
	var notes []string
	rep := report.Func(func(format string, args ...any) { notes = append(notes, fmt.Sprintf(format, args...)) })
	spec := Plan(PlanInput{Root: root, Argv: []string{"sh", "-c", "ip -o link | wc -l"}})
	if !spec.Slirp {
		t.Fatal("the default plan has no slirp4netns network")
	}
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	res, err := Jail{ProcDir: proc, Slirp: "/nonexistent/slirp4netns"}.Run(context.Background(), spec, Stdio{Out: out, Err: out}, rep)
	data, _ := os.ReadFile(out.Name())
	if err != nil || res.Exit != 0 {
		t.Fatalf("jail on a system with no route out: %v %+v\n%s", err, res, data)
	}
	if string(data) != "1\n" {
		t.Errorf("links in the jail: %q, want only its loopback", data)
	}
	if !strings.Contains(strings.Join(notes, "\n"), "no IPv4 default route") {
		t.Errorf("no note of the missing network: %q", notes)
	}
}

// TestJailBefore: Spec.Before runs while the init starts and before the
// command: drd's stage, filled only then, and what Before wrote are
// there when the command starts; a Before that fails stops the jail
// before anything runs, with its error.
func TestJailBefore(t *testing.T) {
	root := minbase(t)
	exe, _ := os.Executable()
	marker := filepath.Join(root, "before-ran")
	ran := filepath.Join(root, "jail-ran")
	t.Cleanup(func() { os.Remove(marker); os.Remove(ran) })
	for _, fail := range []bool{false, true} {
		st, err := openStage(exe)
		if err != nil {
			t.Fatal(err)
		}
		defer st.close()
		spec := Plan(PlanInput{Root: root, Image: "test", Staging: true, NoNet: true,
			Argv: []string{"sh", "-c", "test -x " + stagingDir + "/drd && test -e /before-ran && echo ok; touch /jail-ran"}})
		spec.Files = st.files()
		errBefore := errors.New("before failed")
		spec.Before = func() error {
			if fail {
				return errBefore
			}
			if err := st.fill(inspectConfig{}, exe); err != nil {
				return err
			}
			return os.WriteFile(marker, nil, 0o644)
		}
		out, err := os.CreateTemp(t.TempDir(), "out")
		if err != nil {
			t.Fatal(err)
		}
		res, err := Jail{Kill: 3 * time.Second}.Run(context.Background(), spec, Stdio{Out: out, Err: out}, report.Func(t.Logf))
		data, _ := os.ReadFile(out.Name())
		out.Close()
		if res != nil {
			RemovePlaceholders(root, res.Placeholders)
		}
		_, statErr := os.Stat(ran)
		if fail {
			if !errors.Is(err, errBefore) {
				t.Errorf("a failed Before: Run returned %v, want its error", err)
			}
			if statErr == nil || len(data) > 0 {
				t.Errorf("the command ran although Before failed: %q", data)
			}
			continue
		}
		if err != nil || strings.TrimSpace(string(data)) != "ok" {
			t.Fatalf("the command did not find Before's work: %v %q", err, data)
		}
		os.Remove(ran)
		os.Remove(marker)
	}
}

package e2e

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSync is issue 13's proof in a VM, on layouts (a) BIOS and (b) LVM
// (/var its own LV): clone; drd runcmd installs a package whose postinst
// adds a system user and edits /etc/motd, and which ships a conffile;
// meanwhile the booted system gets a user, another edit of /etc/motd,
// the same conffile with its own text, a log line, files under /srv and
// /opt, a deletion and a chmod; drd sync must exit 2 for the conffile.
// Then a shutdown sync that fails (the clone's manifest made unreadable)
// must call the switch off: the original boots again and says why. Then
// drd activate -x sync=shutdown and changes made after it (a second user,
// a service that appends to a log every 200 ms and writes "stopped" when
// stopped): after the reboot the clone has everything of both sides.
func TestSync(t *testing.T) {
	for _, l := range []Layout{LayoutBIOS, LayoutLVM} {
		t.Run(l.Name, func(t *testing.T) { syncScenario(t, l) })
	}
}

// svcDeb is what drd runcmd installs into the clone: a system user, a
// conffile and an edit of /etc/motd, all made by its postinst or dpkg.
var svcDeb = Deb{
	Package: "drd-e2e-svc",
	Fields:  map[string]string{"X-DRD-Safe": "yes"},
	Files:   map[string]DebFile{"/etc/drd-e2e-svc.conf": {Content: "listen = clone\n"}},
	Scripts: map[string]string{"postinst": `#!/bin/sh
set -e
if [ "$1" = configure ]; then
	getent passwd drde2esvc >/dev/null || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin drde2esvc
	echo "patched by drd runcmd" >> /etc/motd
fi
`},
}

// syncResult is the part of drd sync --json the scenario reads.
type syncResult struct {
	Image     string   `json:"image"`
	Copied    []string `json:"copied"`
	Deleted   []string `json:"deleted"`
	Merged    []string `json:"merged"`
	Conflicts []struct {
		Path   string `json:"path"`
		Reason string `json:"reason"`
	} `json:"conflicts"`
}

func syncScenario(t *testing.T, l Layout) {
	Require(t)
	ph := PhasesFor(t)
	vm := Boot(t, l, Options{Debs: []Deb{svcDeb}, BootTimeout: 20 * time.Minute})
	wantRoot(t, vm, SysSerial, "first boot")
	target := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + TargetSerial))

	// Before the clone: what the booted side will delete and chmod.
	vm.MustRun(`set -e; grep -q '^The programs included with the Debian' /etc/motd
mkdir -p /srv/drd-e2e /opt/drd-e2e
echo old > /srv/drd-e2e/old.txt
printf '#!/bin/sh\necho run\n' > /opt/drd-e2e/run.sh; chmod 644 /opt/drd-e2e/run.sh`)
	ph.Time("clone", func() { t.Log(vm.MustRun("drd clone -t " + target + " 2>&1")) })

	// The clone's side: a package whose postinst adds a system user and
	// edits /etc/motd, with a conffile.
	ph.Time("runcmd", func() {
		t.Log(vm.MustRun("drd runcmd -x depot=/run/drd-e2e/debs dpkg -i /run/drd-e2e/debs/" + svcDeb.fileName() + " 2>&1"))
	})
	vm.MustRun("! getent passwd drde2esvc && ! test -e /etc/drd-e2e-svc.conf")

	// The booted side meanwhile.
	vm.MustRun(`set -e
useradd --create-home --shell /bin/bash alice
sed -i 's/are free software;/are free software (edited on the booted system);/' /etc/motd
echo "listen = booted" > /etc/drd-e2e-svc.conf
echo "booted: a log line" >> /var/log/drd-e2e.log
echo new > /srv/drd-e2e/new.txt
head -c 300000 /dev/urandom > /opt/drd-e2e/blob
rm /srv/drd-e2e/old.txt
chmod 755 /opt/drd-e2e/run.sh`)

	// drd sync: everything but the conffile, which is a conflict (exit 2).
	var res syncResult
	ph.Time("sync", func() {
		r := vm.Run("drd sync --json")
		t.Logf("drd sync --json: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		if r.Code != 2 {
			t.Fatalf("drd sync with a conflict: exit %d, want 2", r.Code)
		}
		if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
			t.Fatalf("drd sync --json: %v", err)
		}
	})
	conflict := false
	for _, c := range res.Conflicts {
		conflict = conflict || c.Path == "/etc/drd-e2e-svc.conf"
	}
	if !conflict {
		t.Errorf("drd sync's conflicts: %+v, want /etc/drd-e2e-svc.conf among them", res.Conflicts)
	}
	for _, want := range []string{"/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/motd"} {
		if !contains(res.Merged, want) {
			t.Errorf("drd sync did not merge %s: merged %v", want, res.Merged)
		}
	}
	for _, want := range []string{"/var/log/drd-e2e.log", "/srv/drd-e2e/new.txt", "/opt/drd-e2e/blob", "/opt/drd-e2e/run.sh"} {
		if !contains(res.Copied, want) {
			t.Errorf("drd sync did not copy %s: copied %v", want, res.Copied)
		}
	}
	if !contains(res.Deleted, "/srv/drd-e2e/old.txt") {
		t.Errorf("drd sync did not delete /srv/drd-e2e/old.txt: deleted %v", res.Deleted)
	}
	vm.MustRun("grep -q '/etc/drd-e2e-svc.conf' /var/opt/drd/sync/conflicts.list")

	// 1. A shutdown sync that fails calls the switch off: the clone's
	// manifest is made unreadable after the activation (its checksum
	// fails), the reboot comes back to the original, which says why.
	activateShutdownSync(t, vm)
	vm.MustRun(`set -e; m=$(drd mount -q sysimage_001)
cp -p "$m/var/opt/drd/sync/manifest" /root/manifest.good
printf 'spoiled' | dd of="$m/var/opt/drd/sync/manifest" bs=1 seek=64 conv=notrunc status=none
drd umount -q sysimage_001`)
	if st := readStatus(t, vm); st.Activated != "sysimage_001" {
		t.Fatalf("1. after drd mount and umount of the activated clone: activated %q", st.Activated)
	}
	rebootSettled(t, vm, 2)
	wantRoot(t, vm, SysSerial, "1. a failed shutdown sync")
	st := readStatus(t, vm)
	if st.Activated != "sysimage_000" {
		t.Errorf("1. after the failed shutdown sync: activated %q, want the original sysimage_000", st.Activated)
	}
	journal := vm.MustRun("journalctl -b -1 -o cat --no-pager -u drd-sync-at-shutdown.service")
	t.Logf("1. the failed shutdown sync in the journal:\n%s", journal)
	if !strings.Contains(journal, "the switch was called off") {
		t.Errorf("1. the journal of the last shutdown does not say that the switch was called off")
	}
	vm.MustRun("grep -q 'the switch was called off' /var/opt/drd/drd.log")
	t.Log(vm.MustRun("drd status -v"))
	vm.MustRun(`set -e; m=$(drd mount -q sysimage_001)
cp -p /root/manifest.good "$m/var/opt/drd/sync/manifest"; drd umount -q sysimage_001`)

	// 2. The switch that loses nothing: changes after the activation, and
	// a service writing until it is stopped at shutdown.
	activateShutdownSync(t, vm)
	vm.MustRun(`set -e
useradd --no-create-home bob
echo "booted: after the activation" >> /var/log/drd-e2e.log
echo after > /srv/drd-e2e/after.txt
systemd-run --unit=drd-e2e-ticker --quiet sh -c 'trap "echo stopped >> /var/log/drd-e2e-ticker.log; exit 0" TERM; while :; do echo tick >> /var/log/drd-e2e-ticker.log; sleep 0.2; done'
sleep 1; test -s /var/log/drd-e2e-ticker.log`)
	rebootSettled(t, vm, 2)
	wantRoot(t, vm, TargetSerial, "2. the switch with a shutdown sync")
	vm.MustRun(`fail() { echo "$*" >&2; exit 1; }
for u in alice bob drde2esvc; do
	grep -q "^$u:" /etc/passwd || fail "$u is not in /etc/passwd"
	grep -q "^$u:" /etc/shadow || fail "$u is not in /etc/shadow"
	grep -q "^$u:" /etc/group || fail "$u's group is not in /etc/group"
	grep -q "^$u:" /etc/gshadow || fail "$u's group is not in /etc/gshadow"
done
grep -q 'free software (edited on the booted system);' /etc/motd || fail "the booted edit of /etc/motd is lost"
grep -q 'patched by drd runcmd' /etc/motd || fail "the clone's edit of /etc/motd is lost"
test "$(cat /etc/drd-e2e-svc.conf)" = "listen = clone" || fail "the clone's conffile was overwritten"
test "$(cat /etc/drd-e2e-svc.conf.drd-booted)" = "listen = booted" || fail "no booted version beside the conffile"
test "$(cat /var/log/drd-e2e.log)" = "$(printf 'booted: a log line\nbooted: after the activation')" || fail "/var/log/drd-e2e.log: $(cat /var/log/drd-e2e.log)"
test "$(cat /srv/drd-e2e/new.txt)" = new || fail "/srv/drd-e2e/new.txt"
test "$(cat /srv/drd-e2e/after.txt)" = after || fail "/srv/drd-e2e/after.txt (written after the activation)"
test "$(stat -c %s /opt/drd-e2e/blob)" = 300000 || fail "/opt/drd-e2e/blob"
test ! -e /srv/drd-e2e/old.txt || fail "/srv/drd-e2e/old.txt was not deleted"
test "$(stat -c %a /opt/drd-e2e/run.sh)" = 755 || fail "/opt/drd-e2e/run.sh's mode is $(stat -c %a /opt/drd-e2e/run.sh)"
test "$(tail -n 1 /var/log/drd-e2e-ticker.log)" = stopped || fail "the ticker's log ends with $(tail -n 1 /var/log/drd-e2e-ticker.log), not stopped"
dpkg -s drd-e2e-svc >/dev/null || fail "the package drd runcmd installed is gone"
exit 0`)
	t.Logf("2. the ticker wrote %s lines", strings.TrimSpace(vm.MustRun("wc -l < /var/log/drd-e2e-ticker.log")))

	// The original's journal and lists: the shutdown sync, its time and
	// its conflict.
	m := strings.TrimSpace(vm.MustRun("drd mount -q sysimage_000"))
	vm.MustRun("grep -q '^/etc/drd-e2e-svc.conf\t' " + m + "/var/opt/drd/sync/conflicts.list")
	jl := vm.MustRun("journalctl -D " + m + "/var/log/journal -b 0 -o short-unix --no-pager -u drd-sync-at-shutdown.service")
	t.Logf("2. the shutdown sync in the original's journal:\n%s", jl)
	if d, ok := stopDuration(jl); ok {
		t.Logf("2. the shutdown sync took %.2f s (journal: Stopping to Stopped)", d.Seconds())
	} else {
		t.Errorf("2. the original's journal has no start and end of the shutdown sync")
	}
	vm.MustRun("drd umount -q sysimage_000")
}

// activateShutdownSync activates the clone with -x sync=shutdown, no
// reboot yet: its sync first warns of the conflict (exit 2).
func activateShutdownSync(t *testing.T, vm *VM) {
	t.Helper()
	r := vm.Run("drd activate -x sync=shutdown sysimage_001 2>&1")
	t.Logf("drd activate -x sync=shutdown: exit %d\n%s", r.Code, r.Stdout)
	if r.Code != 0 && r.Code != 2 {
		t.Fatalf("drd activate -x sync=shutdown: exit %d", r.Code)
	}
	vm.MustRun("systemctl is-active drd-sync-at-shutdown.service")
	if st := readStatus(t, vm); st.Activated != "sysimage_001" {
		t.Fatalf("after drd activate -x sync=shutdown: activated %q", st.Activated)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// stopDuration is the time from the unit's "Stopping" line to the last
// line of a unit's journal in short-unix format (seconds.micro first).
func stopDuration(journal string) (time.Duration, bool) {
	var first, last float64
	n := 0
	for _, line := range strings.Split(journal, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		s, err := strconv.ParseFloat(f[0], 64)
		if err != nil || n == 0 && !strings.Contains(line, "Stopping") {
			continue
		}
		if n == 0 {
			first = s
		}
		last = s
		n++
	}
	return time.Duration((last - first) * float64(time.Second)), n >= 2
}

// TestSyncKexec is -x sync=shutdown with -x reboot=kexec on layout (a):
// systemctl kexec runs the same shutdown transaction as a reboot, so the
// final sync runs after the services stopped and before the kexec: the
// clone, entered by kexec (no firmware, no GRUB: no BOOT_IMAGE= on its
// command line), has what a service wrote until it was stopped.
func TestSyncKexec(t *testing.T) {
	Require(t)
	ph := PhasesFor(t)
	vm := Boot(t, LayoutBIOS, Options{BootTimeout: 20 * time.Minute})
	target := strings.TrimSpace(vm.MustRun("readlink -f /dev/disk/by-id/virtio-" + TargetSerial))
	ph.Time("clone", func() { vm.MustRun("drd clone -t " + target) })
	vm.MustRun(`set -e; useradd --no-create-home carol; echo "booted: before the kexec" > /var/log/drd-e2e.log
systemd-run --unit=drd-e2e-ticker --quiet sh -c 'trap "echo stopped >> /var/log/drd-e2e-ticker.log; exit 0" TERM; while :; do echo tick >> /var/log/drd-e2e-ticker.log; sleep 0.2; done'
sleep 1; test -s /var/log/drd-e2e-ticker.log`)
	prev := vm.bootID
	vm.p.console.Skip()
	if _, _, err := vm.p.agent.start("drd activate -x sync=shutdown -x reboot=kexec sysimage_001 >/root/activate.log 2>&1"); err != nil {
		t.Fatal(err)
	}
	ph.Time("kexec with the final sync", func() { settle(t, vm, prev, 2) })
	wantRoot(t, vm, TargetSerial, "after drd activate -x sync=shutdown -x reboot=kexec")
	if b := vm.BootInfo(); strings.Contains(b.Cmdline, "BOOT_IMAGE=") {
		t.Errorf("the clone was booted by GRUB, not by kexec: %s", b.Cmdline)
	}
	vm.MustRun(`fail() { echo "$*" >&2; exit 1; }
grep -q '^carol:' /etc/passwd || fail "carol is not in the clone's /etc/passwd"
grep -q 'booted: before the kexec' /var/log/drd-e2e.log || fail "/var/log/drd-e2e.log"
test "$(tail -n 1 /var/log/drd-e2e-ticker.log)" = stopped || fail "the ticker's log ends with $(tail -n 1 /var/log/drd-e2e-ticker.log), not stopped"`)
	m := strings.TrimSpace(vm.MustRun("drd mount -q sysimage_000"))
	t.Log(vm.MustRun("cat " + m + "/root/activate.log"))
	jl := vm.MustRun("journalctl -D " + m + "/var/log/journal -b 0 -o short-unix --no-pager -u drd-sync-at-shutdown.service")
	t.Logf("the shutdown sync in the original's journal:\n%s", jl)
	if d, ok := stopDuration(jl); ok {
		t.Logf("the shutdown sync before the kexec took %.2f s", d.Seconds())
	}
	vm.MustRun("drd umount -q sysimage_000")
}

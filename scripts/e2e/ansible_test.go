package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// webDeb is the patch that breaks web2: a new health check of the web
// tier that fails, as a package whose upgrade broke the service would.
var webDeb = Deb{
	Package: "drd-e2e-web",
	Fields:  map[string]string{"X-DRD-Safe": "yes"},
	Files: map[string]DebFile{"/etc/drd/checks.d/50-web": {
		Content: "#!/bin/sh\necho the web server does not answer >&2\nexit 1\n", Mode: 0o755}},
}

// TestAnsibleWindow is issue 15's proof: ansible-playbook on this host runs
// the collection drd.drd's maintenance-window playbook (the one
// administrators run, scripts/ansible/playbooks/maintenance-window.yml)
// against two VMs of layout (a), reaching them over ssh through QEMU's
// port forwards. First a --check run: drd's previews only, nothing
// changes. Then the window, one host at a time: web1's patch (a local
// package, through drd runcmd) is good: clone, patch, sync, activate on
// trial, reboot, boot check, commit. web2's patch ships a health check
// that fails: its trial fails drd's boot check, the host falls back to
// its original by itself, and the play reports it and stops the roll-out:
// web3, next in line (no VM behind it), is never contacted. Then the
// commit is run again on web1 and changes nothing.
func TestAnsibleWindow(t *testing.T) {
	Require(t)
	for _, p := range []string{"ansible-playbook", "ansible", "ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("TestAnsibleWindow needs %s on this host (Debian's ansible-core, openssh-client): run scripts/install-deps", p)
		}
	}
	ctx := context.Background()
	ph := PhasesFor(t)
	work := t.TempDir()

	key := filepath.Join(work, "id_ed25519")
	if out, err := run(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "drd-e2e-ansible", "-f", key); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}

	debs := []Deb{helloDeb, webDeb}
	vms := bootAll(t, LayoutBIOS, []string{"web1", "web2"},
		Options{Network: true, SSH: true, Debs: debs, BootTimeout: 10 * time.Minute})
	disks := make([][2]string, len(vms))
	// The key for ssh; Ansible's modules need Python in the guest (the
	// base image has python3: xfsprogs depends on it).
	ph.Time("ssh key", func() {
		forAll(t, vms, func(i int, vm *VM) error {
			r, err := vm.Exec(ctx, `set -e
install -d -m 700 /root/.ssh
printf '%s\n' '`+strings.TrimSpace(string(pub))+`' >> /root/.ssh/authorized_keys
chmod 600 /root/.ssh/authorized_keys
systemctl is-active ssh >/dev/null
python3 --version >&2
readlink -f /dev/disk/by-id/virtio-`+SysSerial+`
readlink -f /dev/disk/by-id/virtio-`+TargetSerial)
			if err != nil {
				return err
			}
			f := strings.Fields(r.Stdout)
			if r.Code != 0 || len(f) != 2 {
				return fmt.Errorf("VM %s: python3, sshd and the ssh key: exit %d\n%s%s", vm.Name, r.Code, r.Stdout, r.Stderr)
			}
			disks[i] = [2]string{f[0], f[1]}
			return nil
		})
	})

	// The inventory an administrator would write: two disks per host (the
	// clone goes to the one not booted), the patch from a local depot, and
	// web3 behind a port nothing listens on.
	noone, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]any{"web3": map[string]any{"ansible_port": noone}}
	patches := []string{helloDeb.fileName(), webDeb.fileName()}
	for i, vm := range vms {
		hosts[vm.Name] = map[string]any{
			"ansible_port":      vm.SSHPort(),
			"drd_clone_targets": disks[i][:],
			"drd_patch_command": []string{"dpkg", "-i", "/run/drd-e2e/debs/" + patches[i]},
		}
	}
	inv := map[string]any{"drd": map[string]any{"hosts": hosts, "vars": map[string]any{
		"ansible_host": "127.0.0.1", "ansible_user": "root", "ansible_become": false,
		"ansible_ssh_private_key_file": key,
		// ServerAlive: QEMU's port forward accepts a connection while the
		// guest reboots and then never answers or closes it; a real
		// network would refuse. ansible's reboot module reconnects.
		"ansible_ssh_common_args":    "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ServerAliveInterval=5 -o ServerAliveCountMax=6",
		"ansible_python_interpreter": "/usr/bin/python3",
		"drd_patch_depot":            []string{"/run/drd-e2e/debs"},
		"drd_apt_update":             false, // the patch is the local package: no mirror needed
		"drd_boot_check_delay":       10,
		"drd_boot_check_retries":     90,
	}}}
	b, _ := json.MarshalIndent(inv, "", "  ") // JSON is YAML
	invFile := filepath.Join(work, "inventory.yml")
	if err := os.WriteFile(invFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("inventory:\n%s", b)
	ans := newAnsible(t, work, invFile)

	// 1. --check: drd's previews only. No clone exists yet, so the play
	// previews the clone and ends there; nothing on the hosts changes.
	// Compared: images, states, activation, trial. Not the whole JSON: a
	// booted image never cloned has no image.json yet, and drd status
	// gives it a new id and creation time at every call.
	before := make([]status, len(vms))
	for i, vm := range vms {
		before[i] = readStatus(t, vm)
	}
	rc, lines := ans.playbook("check", "--check", "--limit", "web1,web2")
	if rc != 0 {
		t.Fatalf("ansible-playbook --check: exit %d", rc)
	}
	pt := ParsePlayTimes(lines)
	for _, h := range []string{"web1", "web2"} {
		if r := taskResult(pt, "Clone the booted image (or reuse a complete clone)", h); r != "changed" {
			t.Errorf("--check: %s's clone task is %q, want changed (a clone would be made)", h, r)
		}
	}
	if strings.Contains(joinLines(lines), "TASK [Reboot into the clone]") {
		t.Error("--check: the play reached the reboot")
	}
	for i, vm := range vms {
		if after := readStatus(t, vm); !reflect.DeepEqual(after, before[i]) {
			t.Errorf("--check changed drd status on %s:\nbefore %+v\nafter %+v", vm.Name, before[i], after)
		}
		vm.MustRun("! blkid -p " + disks[i][1]) // the target disk is still empty
	}

	// 2. The window.
	prev := []string{vms[0].BootID(), vms[1].BootID()}
	rc, lines = ans.playbook("window")
	out := joinLines(lines)
	pt = ParsePlayTimes(lines)
	if rc != 2 {
		t.Errorf("ansible-playbook: exit %d, want 2 (a host failed)", rc)
	}
	if got := strings.Join(pt.HostsSeen(), " "); got != "web1 web2" {
		t.Errorf("hosts in the play's results: %s, want web1 web2 (web3 never contacted)", got)
	}
	for _, w := range []string{
		"web2: the trial of sysimage_001 failed and the host fell back to sysimage_000 by itself",
		"50-web", "The roll-out stops here",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("the play's output lacks %q", w)
		}
	}
	if m := regexp.MustCompile(`(?m)^web1 +: .*failed=0 `).FindString(out); m == "" {
		t.Error("web1 failed in the play's recap")
	}
	if r := taskResult(pt, "Commit the patched image", "web1"); r != "changed" {
		t.Errorf("web1's commit: %q, want changed", r)
	}

	// What the hosts booted, as the harness sees it: web1 rebooted once,
	// into its clone; web2 twice, into its trial and back by itself.
	web1, web2 := vms[0], vms[1]
	if n := rebootedOutside(t, web1, prev[0]); n != 1 {
		t.Errorf("web1 booted %d times during the window, want 1 (into its clone)", n)
	}
	if n := rebootedOutside(t, web2, prev[1]); n != 2 {
		t.Errorf("web2 booted %d times during the window, want 2 (its trial, then the fallback)", n)
	}
	wantRoot(t, web1, TargetSerial, "web1 after the window")
	web1.MustRun("grep -q 'patched by drd runcmd' /usr/share/drd-e2e-hello/hello.txt")
	st := readStatus(t, web1)
	if s, _ := st.state("sysimage_001"); st.Booted.Name != "sysimage_001" || s != "good" {
		t.Errorf("web1: booted %s (%s), want sysimage_001 good", st.Booted.Name, s)
	}
	if s, _ := st.state("sysimage_000"); s != "retired" {
		t.Errorf("web1: sysimage_000 is %q, want retired (committed)", s)
	}
	wantRoot(t, web2, SysSerial, "web2 after the window")
	web2.MustRun("! dpkg -s drd-e2e-web >/dev/null 2>&1 && ! test -e /etc/drd/checks.d/50-web")
	st = readStatus(t, web2)
	if s, why := st.state("sysimage_001"); st.Booted.Name != "sysimage_000" || st.Activated != "sysimage_000" || s != "bad" || !strings.Contains(why, "50-web") {
		t.Errorf("web2: booted %s, activated %s, sysimage_001 %s (%s); want sysimage_000 booted and activated, sysimage_001 bad because of 50-web",
			st.Booted.Name, st.Activated, s, why)
	}
	for _, vm := range vms {
		t.Logf("VM %s after the window:\n%s", vm.Name, vm.MustRun("drd status"))
	}

	// 3. A finished step run again changes nothing: web1 is committed.
	rc, lines = ans.run("commit again", "ansible", "web1", "-m", "drd.drd.drd_commit")
	if out := joinLines(lines); rc != 0 || !strings.Contains(out, `"changed": false`) || !strings.Contains(out, "committed already") {
		t.Errorf("drd_commit on committed web1: exit %d, want changed false (committed already)", rc)
	}
}

// bootAll boots one VM per name at once (the layout's images built or
// taken from the cache first), each with opts and its name.
func bootAll(t *testing.T, l Layout, names []string, opts Options) []*VM {
	t.Helper()
	var err error
	PhasesFor(t).Time("build images "+l.Name, func() { _, _, err = EnsureImages(context.Background(), l, t.Logf) })
	if err != nil {
		t.Fatal(err)
	}
	vms := make([]*VM, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := opts
			o.Name = name
			vms[i], errs[i] = start(t, l, o)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return vms
}

// forAll runs f on every VM at once and fails t with the errors.
func forAll(t *testing.T, vms []*VM, f func(i int, vm *VM) error) {
	t.Helper()
	errs := make([]error, len(vms))
	var wg sync.WaitGroup
	for i, vm := range vms {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f(i, vm) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// rebootedOutside takes the boots a guest went through since boot prev
// that the harness did not set off (Ansible's reboot, drd's boot check
// falling back): the agent's hellos that came meanwhile. The guest must
// be up in the last of them; it returns their number.
func rebootedOutside(t *testing.T, vm *VM, prev string) int {
	t.Helper()
	var ids []string
	for more := true; more; {
		select {
		case id := <-vm.p.agent.hello:
			if id != prev {
				ids = append(ids, id)
			}
		default:
			more = false
		}
	}
	if len(ids) == 0 {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), vm.opts.BootTimeout)
	defer cancel()
	r, err := vm.Exec(ctx, "systemctl is-system-running --wait >/dev/null; cat /proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Fatal(err)
	}
	if now := strings.TrimSpace(r.Stdout); now != ids[len(ids)-1] {
		t.Fatalf("VM %s: the agent answers from boot %s, not from the last that said hello (%v)", vm.Name, now, ids)
	}
	vm.bootID = ids[len(ids)-1]
	vm.boots += len(ids)
	t.Logf("VM %s: %d boot(s) since %s, now in %s", vm.Name, len(ids), prev, vm.bootID)
	return len(ids)
}

// ansibleRun runs ansible's commands on this host against an inventory,
// with the collection drd.drd of this tree, and keeps their output.
type ansibleRun struct {
	t         *testing.T
	env       []string
	inventory string
	book      string
	logDir    string
}

func newAnsible(t *testing.T, work, inventory string) *ansibleRun {
	t.Helper()
	coll, err := filepath.Abs("../ansible")
	if err != nil {
		t.Fatal(err)
	}
	// ssh's control sockets need a short path (108 bytes).
	cp, err := os.MkdirTemp("", "drdcp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(cp) })
	env := append(os.Environ(),
		"ANSIBLE_COLLECTIONS_PATH="+coll,
		"ANSIBLE_HOME="+filepath.Join(work, "ansible-home"),
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(work, "ansible-tmp"),
		"ANSIBLE_SSH_CONTROL_PATH_DIR="+cp,
		"ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0", "ANSIBLE_RETRY_FILES_ENABLED=0",
		"ANSIBLE_HOST_KEY_CHECKING=False", "ANSIBLE_PIPELINING=1",
		"ANSIBLE_TIMEOUT=60", // ssh's connection timeout: sshd under TCG on a busy host is slow
		"PYTHONUNBUFFERED=1", // lines as they come, for their times
	)
	return &ansibleRun{t: t, env: env, inventory: inventory, book: filepath.Join(coll, "playbooks", "maintenance-window.yml"),
		logDir: logDirFor(t, "ansible")}
}

// playbook runs the maintenance-window playbook with args; it returns the
// exit code and the lines printed with their times, and logs its times.
func (a *ansibleRun) playbook(name string, args ...string) (int, []PlayLine) {
	a.t.Helper()
	return a.run(name, "ansible-playbook", append([]string{a.book}, args...)...)
}

// run runs an ansible command with the inventory, as phase name; its
// output goes to <logs>/ansible/<name>.log as it comes, and to the test's
// log at the end with the times of its hosts and tasks.
func (a *ansibleRun) run(name, prog string, args ...string) (int, []PlayLine) {
	a.t.Helper()
	logFile := filepath.Join(a.logDir, strings.ReplaceAll(name, " ", "-")+".log")
	f, err := os.Create(logFile)
	if err != nil {
		a.t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(prog, append([]string{"-i", a.inventory}, args...)...)
	cmd.Env = a.env
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		a.t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	var lines []PlayLine
	t0 := time.Now()
	rc := -1
	PhasesFor(a.t).Time(name, func() {
		if err = cmd.Start(); err != nil {
			return
		}
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			l := PlayLine{At: time.Now(), Text: sc.Text()}
			lines = append(lines, l)
			fmt.Fprintf(f, "%7.1f %s\n", l.At.Sub(t0).Seconds(), l.Text)
		}
		err = cmd.Wait()
		rc = cmd.ProcessState.ExitCode()
	})
	if rc < 0 {
		a.t.Fatalf("%s %s: %v", prog, strings.Join(args, " "), err)
	}
	pt := ParsePlayTimes(lines)
	a.t.Logf("%s (%s %s): exit %d after %.1fs; output in %s\n%s\ntimes (tasks of 5 s or more):\n%s",
		name, prog, strings.Join(args, " "), rc, time.Since(t0).Seconds(), logFile, joinLines(lines), pt.Table(5*time.Second))
	return rc, lines
}

func joinLines(lines []PlayLine) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

// taskResult is the result of task on host in a run ("" if it did not run there).
func taskResult(pt PlayTimes, task, host string) string {
	r := ""
	for _, tt := range pt.Tasks {
		if tt.Task == task && tt.Host == host {
			r = tt.Result
		}
	}
	return r
}

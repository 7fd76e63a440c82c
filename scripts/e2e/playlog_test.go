package e2e

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// A serial play as ansible-playbook 2.14 prints it: web1 in the first
// batch, web2 in the second with a retried wait, an unreachable host and
// a failure; the recap's lines name hosts too but are no results.
const playOutput = `
PLAY [Maintenance window with drd] *********************************************

TASK [Read drd's images] *******************************************************
ok: [web1]

TASK [Clone the booted image (or reuse a complete clone)] **********************
changed: [web1]

TASK [Reboot into the clone] ***************************************************
changed: [web1]

PLAY [Maintenance window with drd] *********************************************

TASK [Read drd's images] *******************************************************
ok: [web2]

TASK [Wait for drd's boot check] ***********************************************
FAILED - RETRYING: [web2]: Wait for drd's boot check (60 retries left).
FAILED - RETRYING: [web2]: Wait for drd's boot check (59 retries left).
fatal: [web2]: UNREACHABLE! => {"changed": false, "msg": "Failed to connect", "unreachable": true}
...ignoring

TASK [Report a failed trial and stop the roll-out] *****************************
fatal: [web2]: FAILED! => {"changed": false, "msg": "web2: the trial failed"}

NO MORE HOSTS LEFT *************************************************************

PLAY RECAP *********************************************************************
web1                       : ok=3    changed=2    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
web2                       : ok=2    changed=0    unreachable=1    failed=1    skipped=0    rescued=0    ignored=1
`

func TestParsePlayTimes(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	var lines []PlayLine
	for i, s := range strings.Split(playOutput, "\n") {
		lines = append(lines, PlayLine{At: t0.Add(time.Duration(i) * time.Second), Text: s})
	}
	pt := ParsePlayTimes(lines)
	want := []TaskTime{
		{"Read drd's images", "web1", 1 * time.Second, "ok"},
		{"Clone the booted image (or reuse a complete clone)", "web1", 1 * time.Second, "changed"},
		{"Reboot into the clone", "web1", 1 * time.Second, "changed"},
		{"Read drd's images", "web2", 1 * time.Second, "ok"},
		{"Wait for drd's boot check", "web2", 3 * time.Second, "fatal"},
		{"Report a failed trial and stop the roll-out", "web2", 1 * time.Second, "fatal"},
	}
	if !reflect.DeepEqual(pt.Tasks, want) {
		t.Errorf("tasks:\n got %+v\nwant %+v", pt.Tasks, want)
	}
	// web1: from its first task's header (line 3) to its last result (line
	// 10); web2: from line 14 to 24.
	if pt.Hosts["web1"] != 7*time.Second || pt.Hosts["web2"] != 10*time.Second {
		t.Errorf("hosts: %v, want web1 7s, web2 10s", pt.Hosts)
	}
	if !reflect.DeepEqual(pt.Order, []string{"web1", "web2"}) {
		t.Errorf("order %v", pt.Order)
	}
	if tab := pt.Table(2 * time.Second); !strings.Contains(tab, "web2: 10.0s") || !strings.Contains(tab, "Wait for drd's boot check") ||
		strings.Contains(tab, "Read drd's images") {
		t.Errorf("table with tasks of 2 s or more:\n%s", tab)
	}
}

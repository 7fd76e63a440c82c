package e2e

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// PlayLine is one line ansible-playbook printed (its default output), with
// the time it arrived.
type PlayLine struct {
	At   time.Time
	Text string
}

// TaskTime is how long one task took on one host: from the task's header
// (ansible prints it when the task starts) to the host's last result line
// of the task (retries included).
type TaskTime struct {
	Task, Host string
	Took       time.Duration
	Result     string // ok, changed, fatal, skipping, unreachable, ...
}

// PlayTimes are the times of one ansible-playbook run, read from its output.
type PlayTimes struct {
	Tasks []TaskTime
	Hosts map[string]time.Duration // from the start of the host's first task to its last result
	Order []string                 // the hosts in the order they first appear
}

var (
	playTaskRe   = regexp.MustCompile(`^(?:TASK|RUNNING HANDLER) \[(.*)\] \**$`)
	playResultRe = regexp.MustCompile(`^(ok|changed|fatal|failed|skipping|unreachable|included|FAILED - RETRYING):? \[([^\]]+)\]`)
)

// ParsePlayTimes reads the times of tasks and hosts from ansible-playbook's
// default output. A result line names its host in brackets; a retry
// ("FAILED - RETRYING: [web2]: ...") extends the task, its final result
// ends it.
func ParsePlayTimes(lines []PlayLine) PlayTimes {
	pt := PlayTimes{Hosts: map[string]time.Duration{}}
	type key struct {
		header int // the task's header: a serial play prints each again per batch
		host   string
	}
	var task string
	var taskStart time.Time
	header := 0
	index := map[key]int{}
	first := map[string]time.Time{}
	last := map[string]time.Time{}
	for _, l := range lines {
		if m := playTaskRe.FindStringSubmatch(l.Text); m != nil {
			task, taskStart = m[1], l.At
			header++
			continue
		}
		if strings.HasPrefix(l.Text, "PLAY ") { // a play's header or its recap
			task = ""
			continue
		}
		m := playResultRe.FindStringSubmatch(l.Text)
		if m == nil || task == "" {
			continue
		}
		host := m[2]
		if _, ok := first[host]; !ok {
			first[host] = taskStart
			pt.Order = append(pt.Order, host)
		}
		last[host] = l.At
		k := key{header, host}
		i, ok := index[k]
		if !ok {
			i = len(pt.Tasks)
			index[k] = i
			pt.Tasks = append(pt.Tasks, TaskTime{Task: task, Host: host})
		}
		pt.Tasks[i].Took = l.At.Sub(taskStart)
		pt.Tasks[i].Result = m[1]
	}
	for h, t0 := range first {
		pt.Hosts[h] = last[h].Sub(t0)
	}
	return pt
}

// Table prints the times: each host's total, then its tasks that took at
// least min.
func (pt PlayTimes) Table(min time.Duration) string {
	var b strings.Builder
	for _, h := range pt.Order {
		fmt.Fprintf(&b, "%s: %.1fs\n", h, pt.Hosts[h].Seconds())
		for _, tt := range pt.Tasks {
			if tt.Host == h && tt.Took >= min {
				fmt.Fprintf(&b, "  %-62s %-10s %7.1fs\n", tt.Task, tt.Result, tt.Took.Seconds())
			}
		}
	}
	return b.String()
}

// HostsSeen lists the hosts that have a result line in the output, sorted.
func (pt PlayTimes) HostsSeen() []string {
	hs := append([]string(nil), pt.Order...)
	sort.Strings(hs)
	return hs
}

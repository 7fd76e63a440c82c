package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Phases times the phases of a scenario (build, boot, clone, fsck, ...)
// and prints them as they end and as a table when the test ends.
type Phases struct {
	t    testing.TB
	mu   sync.Mutex
	list []phase
}

type phase struct {
	name string
	d    time.Duration
}

var phasesOf, logDirs sync.Map // testing.TB → *Phases, → log directory

// PhasesFor returns the phase timer of t.
func PhasesFor(t testing.TB) *Phases {
	p, loaded := phasesOf.LoadOrStore(t, &Phases{t: t})
	ph := p.(*Phases)
	if !loaded {
		t.Cleanup(func() {
			t.Log(ph.Summary())
			phasesOf.Delete(t)
			logDirs.Delete(t)
		})
	}
	return ph
}

// Time runs f as the phase name.
func (p *Phases) Time(name string, f func()) {
	t0 := time.Now()
	defer func() {
		d := time.Since(t0)
		p.mu.Lock()
		p.list = append(p.list, phase{name, d})
		p.mu.Unlock()
		p.t.Logf("phase %s: %.1fs", name, d.Seconds())
	}()
	f()
}

// Summary is a table of the phases so far and their total.
func (p *Phases) Summary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	var total time.Duration
	fmt.Fprintf(&b, "phases of %s:\n", p.t.Name())
	for _, ph := range p.list {
		fmt.Fprintf(&b, "  %-28s %7.1fs\n", ph.name, ph.d.Seconds())
		total += ph.d
	}
	fmt.Fprintf(&b, "  %-28s %7.1fs\n", "total", total.Seconds())
	return b.String()
}

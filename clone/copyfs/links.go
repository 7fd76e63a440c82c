package copyfs

import (
	"sync"

	"golang.org/x/sys/unix"
)

// linkTable maps each multiply-linked source inode (the source is one
// device, so the inode number is the key) to the first name the copy gave
// it in the target; later names of the same inode become hard links to it.
type linkTable struct {
	mu sync.Mutex
	m  map[uint64]*linkEntry
}

// linkEntry is the first copy of a multiply-linked inode. ready is closed
// once the target entry exists (rel set, ok true) or could not be made.
type linkEntry struct {
	ready chan struct{}
	rel   string
	ok    bool
	// published is set by the claimer (one goroutine) once ready is closed.
	published bool
}

// claim returns the entry of ino and whether the caller is the first to
// claim it: then the caller must create the target entry at once (it must
// not wait for anything else first) and call created, and defer release.
func (t *linkTable) claim(ino uint64) (*linkEntry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if le, ok := t.m[ino]; ok {
		return le, false
	}
	le := &linkEntry{ready: make(chan struct{})}
	t.m[ino] = le
	return le, true
}

// publish tells the waiting names where the first copy is (ok) or that
// there is none (they then copy the inode on their own; Sync re-links),
// once: later calls do nothing.
func (le *linkEntry) publish(rel string, ok bool) {
	if le.published {
		return
	}
	le.published = true
	le.rel, le.ok = rel, ok
	close(le.ready)
}

// created publishes the first copy of the group at rel. The claimer calls
// it as soon as the target entry exists. le may be nil (no group).
func (le *linkEntry) created(rel string) {
	if le != nil {
		le.publish(rel, true)
	}
}

// release, deferred by the claimer, tells the waiting names that there is
// no first copy if created was not called (the copy failed or the source
// vanished). le may be nil (no group).
func (le *linkEntry) release() {
	if le != nil {
		le.publish("", false)
	}
}

// wait returns the first copy of a claimed inode once it exists.
func (e *engine) waitLink(le *linkEntry) (string, bool) {
	select {
	case <-le.ready:
		return le.rel, le.ok
	case <-e.ctx.Done():
		return "", false
	}
}

// claimLink takes the hard-link group of a source entry with several
// names. It returns the group's entry when this name is to make the
// group's first copy; done when this name was linked to a copy made
// already; neither when the entry has one name, or the first copy failed
// and this name is copied on its own.
func (e *engine) claimLink(dfd int, crel, name string, st *unix.Stat_t) (le *linkEntry, done bool, err error) {
	if st.Nlink <= 1 {
		return nil, false, nil
	}
	le, first := e.links.claim(st.Ino)
	if first {
		return le, false, nil
	}
	if done, err := e.linkName(le, dfd, crel, name, st.Ino); done || err != nil {
		return nil, true, err
	}
	return nil, false, nil
}

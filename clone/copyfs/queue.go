package copyfs

import "sync"

// queue is the unbounded work list of a pool. Jobs add jobs, so pushing
// never blocks; pop waits while other jobs still run (they may add more) and
// reports false once the list is empty and nothing runs, or after abort.
// It is a stack: the newest job first, which walks the tree depth first and
// keeps the set of pending directories small.
type queue struct {
	mu      sync.Mutex
	cond    sync.Cond
	jobs    []job
	pending int // jobs pushed and not done
	aborted bool
}

func newQueue() *queue {
	q := &queue{}
	q.cond.L = &q.mu
	return q
}

func (q *queue) push(j job) {
	q.mu.Lock()
	if !q.aborted {
		q.jobs = append(q.jobs, j)
		q.pending++
		q.cond.Signal()
	}
	q.mu.Unlock()
}

func (q *queue) pop() (job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.jobs) == 0 && q.pending > 0 && !q.aborted {
		q.cond.Wait()
	}
	if len(q.jobs) == 0 || q.aborted {
		return nil, false
	}
	j := q.jobs[len(q.jobs)-1]
	q.jobs[len(q.jobs)-1] = nil
	q.jobs = q.jobs[:len(q.jobs)-1]
	return j, true
}

// done marks a popped job finished.
func (q *queue) done() {
	q.mu.Lock()
	q.pending--
	if q.pending <= 0 {
		q.cond.Broadcast()
	}
	q.mu.Unlock()
}

// abort drops the jobs not started and wakes every waiting worker.
func (q *queue) abort() {
	q.mu.Lock()
	q.aborted = true
	q.pending -= len(q.jobs)
	q.jobs = nil
	q.cond.Broadcast()
	q.mu.Unlock()
}

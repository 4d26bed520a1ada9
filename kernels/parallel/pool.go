// Package parallel provides a persistent worker pool for compute kernels.
//
// A Pool owns threads-1 helper goroutines that live until Close; the goroutine
// calling Run is worker 0 and takes part in the work. Run hands out task
// indices dynamically from an atomic counter and returns when every task is
// done. It allocates nothing, so kernels can call it on every inference step.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool is a fixed set of workers. Run may be called from several goroutines;
// calls are serialized. A nil *Pool runs everything inline on the caller.
type Pool struct {
	threads int

	mu      sync.Mutex // serializes Run calls
	fn      func(task, worker int)
	tasks   int64
	next    atomic.Int64 // next unclaimed task
	pending atomic.Int32 // helpers that have not finished the current Run
	wake    []chan struct{}
	done    chan struct{}
	panicV  atomic.Pointer[panicValue]
	closed  bool
}

type panicValue struct{ v any }

// New starts a pool with the given number of workers, including the caller of
// Run. threads < 1 means runtime.GOMAXPROCS(0). With one thread, Run executes
// inline and no goroutine is started.
func New(threads int) *Pool {
	if threads < 1 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &Pool{threads: threads}
	if threads > 1 {
		p.wake = make([]chan struct{}, threads-1)
		p.done = make(chan struct{}, 1)
		for i := range p.wake {
			p.wake[i] = make(chan struct{}, 1)
			go p.helper(i)
		}
	}
	return p
}

// Threads returns the number of workers, including the caller of Run.
func (p *Pool) Threads() int {
	if p == nil {
		return 1
	}
	return p.threads
}

// Run calls fn(task, worker) for every task in [0, tasks), spread over the
// pool's workers, and returns when all calls have returned. worker is in
// [0, Threads()) and identifies the goroutine running the call, so fn can use
// per-worker scratch buffers: no two concurrent calls share a worker index.
// The caller runs as worker 0. Which worker runs which task is not fixed.
//
// Run allocates nothing. If fn panics, Run waits for the other workers and
// re-panics in the caller with the first panic value.
func (p *Pool) Run(tasks int, fn func(task, worker int)) {
	if tasks <= 0 {
		return
	}
	if p == nil || p.threads == 1 || tasks == 1 {
		if p != nil && p.closed {
			panic("parallel: Run on closed Pool")
		}
		for t := 0; t < tasks; t++ {
			fn(t, 0)
		}
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		panic("parallel: Run on closed Pool")
	}
	p.fn = fn
	p.tasks = int64(tasks)
	p.next.Store(0)
	helpers := min(p.threads, tasks) - 1
	p.pending.Store(int32(helpers))
	for i := 0; i < helpers; i++ {
		p.wake[i] <- struct{}{}
	}
	defer p.finish()
	p.work(0)
}

// finish waits for the helpers of the current Run, releases the pool and
// re-raises a helper's panic. It runs deferred so that a panic in worker 0
// also waits for the helpers before unwinding.
func (p *Pool) finish() {
	r := recover()
	if r != nil {
		p.next.Store(p.tasks) // stop handing out tasks
	}
	if p.pending.Add(-(1 << 16)) != -(1 << 16) {
		// Helpers still running: the last one signals done. The caller's
		// share is marked by the large negative offset so that a helper
		// seeing zero knows it finished after the caller.
		<-p.done
	}
	p.pending.Store(0)
	p.fn = nil
	pv := p.panicV.Swap(nil)
	p.mu.Unlock()
	if r != nil {
		panic(r)
	}
	if pv != nil {
		panic(pv.v)
	}
}

func (p *Pool) work(worker int) {
	fn, n := p.fn, p.tasks
	for {
		t := p.next.Add(1) - 1
		if t >= n {
			return
		}
		fn(int(t), worker)
	}
}

func (p *Pool) helper(i int) {
	for range p.wake[i] {
		p.runHelper(i + 1)
		if p.pending.Add(-1) == -(1 << 16) {
			// Last helper, and the caller is already waiting.
			p.done <- struct{}{}
		}
	}
}

func (p *Pool) runHelper(worker int) {
	defer func() {
		if r := recover(); r != nil {
			p.panicV.CompareAndSwap(nil, &panicValue{r})
			p.next.Store(p.tasks) // stop handing out tasks
		}
	}()
	p.work(worker)
}

// Close stops the helper goroutines. Run must not be called afterwards.
// Close is idempotent.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, w := range p.wake {
		close(w)
	}
}

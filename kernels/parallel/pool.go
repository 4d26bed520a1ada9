// Package parallel provides a persistent worker pool for compute kernels.
//
// A Pool owns threads-1 helper goroutines that live until Close; the goroutine
// calling Run is worker 0 and takes part in the work. Run gives worker w
// the w-th contiguous share of the task indices; a worker that finishes its
// share takes the unclaimed tasks of the others, one at a time. Run returns
// when every task is done. It allocates nothing, so kernels can call it on
// every inference step.
//
// Shares rather than one shared counter: with a counter, which worker won
// the first task varied from call to call (the caller, or a spinning helper
// that saw the Run first), so a GEMM's half of the output rows moved
// between the cores' caches on 10–20 % of calls. With shares, a task stays
// on the same core from call to call unless a worker is late.
//
// Waking a parked goroutine costs 0.1–2 ms on the KVM guests this was
// developed on (the idle vCPU has to be rescheduled by the host), as long as
// a whole convolution layer. So, like OpenMP runtimes, helpers spin for
// SpinTime after a Run before they park, and back-to-back Runs (layer after
// layer) do not pay the wake-up. A Run never waits for a helper that has not
// joined it: helpers join while the Run is open, and the caller closes it
// once all tasks are claimed, so a helper that is late (parked, or
// descheduled on an oversubscribed machine) costs nothing but its share of
// the work, which the others take.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// SpinTime is how long an idle helper keeps polling for the next Run before
// it parks. It applies to pools created afterwards.
var SpinTime = 2 * time.Millisecond

// Bits of Pool.word: generation<<32 | openBit | number of joined helpers.
const (
	openBit    = 1 << 31
	joinedMask = openBit - 1
)

// Pool is a fixed set of workers. Run may be called from several goroutines;
// calls are serialized. A nil *Pool runs everything inline on the caller.
type Pool struct {
	threads int
	spin    time.Duration // how long idle helpers poll before parking

	mu sync.Mutex // serializes Run calls
	fn func(task, worker int)
	// word is generation<<32 | openBit | joined. Every Run starts a new
	// generation, open; helpers join it (joined++) only while it is open
	// and leave (joined--) when they run out of tasks; the caller closes
	// it when it runs out of tasks and waits for joined to drop to 0.
	word    atomic.Int64
	shares  []share // worker w's share of the current Run's tasks
	helpers []helper
	panicV  atomic.Pointer[panicValue]
	closed  atomic.Bool
	// onJoin, if set, runs on a helper goroutine each time it joins a Run,
	// before it takes tasks: the engine uses it to give helpers the
	// profiler labels of the step being run, without this package knowing
	// about profiling.
	onJoin func()
}

// OnJoin sets a function helpers call each time they join a Run (nil to
// clear). Set it while no Run is in progress.
func (p *Pool) OnJoin(f func()) {
	if p != nil {
		p.onJoin = f
	}
}

type helper struct {
	sleeping atomic.Bool   // parked (or about to park) on wake
	wake     chan struct{} // capacity 1
	_        [64]byte      // keep helpers' flags on separate cache lines
}

// share is a contiguous range of task indices: next is the first unclaimed
// one, end the range's end. Any worker may claim from any share.
type share struct {
	next atomic.Int64
	end  int64
	_    [48]byte // one cache line per share
}

type panicValue struct{ v any }

// New starts a pool with the given number of workers, including the caller of
// Run. threads < 1 means runtime.GOMAXPROCS(0). With one thread, Run executes
// inline and no goroutine is started.
func New(threads int) *Pool {
	if threads < 1 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &Pool{threads: threads, spin: SpinTime}
	if threads > runtime.GOMAXPROCS(0) {
		p.spin = 0 // helpers would spin on the caller's P: park at once
	}
	if threads > 1 {
		p.shares = make([]share, threads)
		p.helpers = make([]helper, threads-1)
		for i := range p.helpers {
			p.helpers[i].wake = make(chan struct{}, 1)
			go p.helperLoop(i)
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
// The caller runs as worker 0. Worker w runs the w-th contiguous share of
// the tasks unless another worker finishes first and takes some of them.
//
// Run allocates nothing. If fn panics, Run waits for the other workers and
// re-panics in the caller with the first panic value.
func (p *Pool) Run(tasks int, fn func(task, worker int)) {
	if tasks <= 0 {
		return
	}
	if p != nil && p.closed.Load() {
		panic("parallel: Run on closed Pool")
	}
	if p == nil || p.threads == 1 || tasks == 1 {
		for t := 0; t < tasks; t++ {
			fn(t, 0)
		}
		return
	}
	p.mu.Lock()
	p.fn = fn
	// Boundaries rounded up, so that with fewer tasks than workers the
	// first ones (the caller and the helpers woken below) get one each.
	for w := range p.shares {
		sh := &p.shares[w]
		sh.next.Store(int64((w*tasks + p.threads - 1) / p.threads))
		sh.end = int64(((w+1)*tasks + p.threads - 1) / p.threads)
	}
	gen := p.word.Load()>>32 + 1
	p.word.Store(gen<<32 | openBit) // publishes fn and the shares; helpers may join
	for i := 0; i < min(p.threads, tasks)-1; i++ {
		h := &p.helpers[i]
		if h.sleeping.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
	}
	defer p.finish()
	p.work(0)
}

// finish closes the current Run, waits for the helpers that joined it,
// releases the pool and re-raises a panic. It runs deferred so that a panic
// in worker 0 also waits for the helpers before unwinding.
func (p *Pool) finish() {
	r := recover()
	if r != nil {
		p.stop()
	}
	p.word.And(^int64(openBit))
	// Spin without yielding: a Gosched here would let a helper that was
	// just woken onto this P (Go readies it into the waker's run queue)
	// take the P, and the two would share one P. After SpinTime, sleep:
	// a joined helper is then descheduled (oversubscribed machine).
	start := time.Now()
	for i := 0; p.word.Load()&joinedMask != 0; i++ {
		if i%1024 == 1023 && time.Since(start) > p.spin {
			time.Sleep(20 * time.Microsecond)
		}
	}
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

// work runs worker's share of the tasks, then claims the others' unclaimed
// tasks, starting with the next worker's share.
func (p *Pool) work(worker int) {
	fn := p.fn
	for i := range p.shares {
		sh := &p.shares[(worker+i)%len(p.shares)]
		for {
			t := sh.next.Add(1) - 1
			if t >= sh.end {
				break
			}
			fn(int(t), worker)
		}
	}
}

// stop hands out no more tasks of the current Run.
func (p *Pool) stop() {
	for w := range p.shares {
		p.shares[w].next.Store(p.shares[w].end)
	}
}

// helperLoop is helper i (worker i+1): it waits for each new generation,
// joins it if it is still open, and works until the tasks run out.
func (p *Pool) helperLoop(i int) {
	h := &p.helpers[i]
	var seen int64 // generation 0: the state at New, before any Run
	for {
		gen := p.waitGen(h, seen)
		if gen < 0 {
			return // closed
		}
		seen = gen
		for {
			w := p.word.Load()
			if w>>32 != gen || w&openBit == 0 {
				break // too late: the caller closed this Run
			}
			if p.word.CompareAndSwap(w, w+1) {
				if f := p.onJoin; f != nil {
					f()
				}
				p.runHelper(i + 1)
				p.word.Add(-1)
				break
			}
		}
	}
}

// waitGen returns the first generation after seen, or -1 once the pool is
// closed. It spins for p.spin, then parks until a Run wakes it.
func (p *Pool) waitGen(h *helper, seen int64) int64 {
	start := time.Now()
	for i := 0; ; i++ {
		if g := p.word.Load() >> 32; g != seen {
			return g
		}
		if p.closed.Load() {
			return -1
		}
		if i%1024 != 1023 || time.Since(start) < p.spin {
			continue // spin without yielding (see finish)
		}
		// Park. Announce it first, then re-check: a Run that started
		// before it could see sleeping=true did not send, and we see
		// its generation here.
		h.sleeping.Store(true)
		if p.word.Load()>>32 != seen || p.closed.Load() {
			if !h.sleeping.CompareAndSwap(true, false) {
				<-h.wake // a Run saw us sleeping and sent a token: consume it
			}
			continue
		}
		<-h.wake
		start = time.Now()
	}
}

func (p *Pool) runHelper(worker int) {
	defer func() {
		if r := recover(); r != nil {
			p.panicV.CompareAndSwap(nil, &panicValue{r})
			p.stop()
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
	if p.closed.Swap(true) {
		return
	}
	for i := range p.helpers {
		h := &p.helpers[i]
		if h.sleeping.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
	}
}

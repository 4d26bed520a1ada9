package parallel

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunCoversAllTasks(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := New(threads)
		for _, tasks := range []int{0, 1, 2, 3, 7, 100, 1000} {
			counts := make([]int32, tasks)
			var bad atomic.Int32
			for rep := 0; rep < 20; rep++ {
				p.Run(tasks, func(task, worker int) {
					if worker < 0 || worker >= threads {
						bad.Add(1)
					}
					atomic.AddInt32(&counts[task], 1)
				})
			}
			if bad.Load() != 0 {
				t.Errorf("threads=%d tasks=%d: worker index out of range", threads, tasks)
			}
			for i, c := range counts {
				if c != 20 {
					t.Fatalf("threads=%d tasks=%d: task %d ran %d times, want 20", threads, tasks, i, c)
				}
			}
		}
		if p.Threads() != threads {
			t.Errorf("Threads() = %d, want %d", p.Threads(), threads)
		}
		p.Close()
		p.Close()
	}
}

// TestWorkersExclusive checks that no two concurrent calls share a worker
// index, which is what makes per-worker scratch buffers safe.
func TestWorkersExclusive(t *testing.T) {
	const threads = 4
	p := New(threads)
	defer p.Close()
	var inUse [threads]atomic.Int32
	var bad atomic.Int32
	for rep := 0; rep < 50; rep++ {
		p.Run(64, func(task, worker int) {
			if inUse[worker].Add(1) != 1 {
				bad.Add(1)
			}
			for i := 0; i < 1000; i++ {
				_ = i * task
			}
			inUse[worker].Add(-1)
		})
	}
	if bad.Load() != 0 {
		t.Fatalf("%d overlapping uses of a worker index", bad.Load())
	}
}

func TestUsesSeveralWorkers(t *testing.T) {
	p := New(2)
	defer p.Close()
	var seen [2]atomic.Int32
	release := make(chan struct{})
	// Task 0 blocks until some other task ran on another worker, so the
	// run can only finish if the helper participates.
	var started atomic.Int32
	p.Run(2, func(task, worker int) {
		seen[worker].Add(1)
		if started.Add(1) == 2 {
			close(release)
		}
		<-release
	})
	if seen[0].Load() != 1 || seen[1].Load() != 1 {
		t.Fatalf("worker use = %d,%d; want 1,1", seen[0].Load(), seen[1].Load())
	}
}

// TestTasksStayOnTheirWorker checks that worker w runs the w-th share of
// the tasks when every worker takes part, so that a kernel's part of the
// data stays in one core's cache from call to call. With one shared
// counter the workers' tasks interleaved, in an order that varied from
// call to call. The workers go in lockstep: a task waits (up to a second)
// until every worker has started its task of the same position in its
// share, so no worker runs out of tasks while another has some unclaimed.
func TestTasksStayOnTheirWorker(t *testing.T) {
	const perWorker = 4
	for _, threads := range []int{2, 4} {
		if threads > runtime.GOMAXPROCS(0) {
			continue // waiting tasks would hold the Ps others need to start
		}
		p := New(threads)
		tasks := threads * perWorker
		ran := make([]atomic.Int32, tasks) // worker that ran the task, +1
		for rep := range 50 {
			var started [perWorker]atomic.Int32
			for i := range ran {
				ran[i].Store(0)
			}
			p.Run(tasks, func(task, worker int) {
				ran[task].Store(int32(worker + 1))
				pos := &started[task%perWorker]
				pos.Add(1)
				for deadline := time.Now().Add(time.Second); pos.Load() < int32(threads) && time.Now().Before(deadline); {
				}
			})
			for task := range ran {
				if w := int(ran[task].Load()) - 1; w != task/perWorker {
					t.Fatalf("threads=%d run %d: task %d ran on worker %d, want %d", threads, rep, task, w, task/perWorker)
				}
			}
		}
		p.Close()
	}
}

func TestRunAllocatesNothing(t *testing.T) {
	for _, threads := range []int{1, 2, 4} {
		p := New(threads)
		var sum atomic.Int64
		fn := func(task, worker int) { sum.Add(int64(task)) }
		allocs := testing.AllocsPerRun(200, func() { p.Run(16, fn) })
		if allocs != 0 {
			t.Errorf("threads=%d: Run allocates %v times per call", threads, allocs)
		}
		p.Close()
	}
}

func TestPanicPropagates(t *testing.T) {
	p := New(2)
	defer p.Close()
	for _, victim := range []int{0, 1, 5} {
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("victim %d: recovered %v, want boom", victim, r)
				}
			}()
			p.Run(8, func(task, worker int) {
				if task == victim {
					panic("boom")
				}
			})
		}()
	}
	// The pool must still work afterwards.
	var n atomic.Int32
	p.Run(10, func(int, int) { n.Add(1) })
	if n.Load() != 10 {
		t.Fatalf("after panic: ran %d tasks, want 10", n.Load())
	}
}

func TestNilPool(t *testing.T) {
	var p *Pool
	n := 0
	p.Run(5, func(task, worker int) { n += task })
	if n != 10 || p.Threads() != 1 {
		t.Fatalf("nil pool: n=%d threads=%d", n, p.Threads())
	}
}

func BenchmarkRunOverhead(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run("threads="+strconv.Itoa(threads), func(b *testing.B) {
			p := New(threads)
			defer p.Close()
			fn := func(task, worker int) {}
			b.ReportAllocs()
			for b.Loop() {
				p.Run(threads, fn)
			}
		})
	}
}

// TestParkedHelpersWake forces helpers to park between Runs (no spinning,
// or a pause longer than SpinTime) and checks that every Run still gets
// both workers: task 0 waits until task 1 has started on another worker.
func TestParkedHelpersWake(t *testing.T) {
	for _, spin := range []time.Duration{0, time.Millisecond} {
		saved := SpinTime
		SpinTime = spin
		p := New(2)
		SpinTime = saved
		for rep := 0; rep < 20; rep++ {
			if rep%4 == 0 {
				time.Sleep(2 * spin)
			}
			var started atomic.Int32
			release := make(chan struct{})
			var workers [2]atomic.Int32
			p.Run(2, func(task, worker int) {
				workers[worker].Add(1)
				if started.Add(1) == 2 {
					close(release)
				}
				select {
				case <-release:
				case <-time.After(10 * time.Second):
					t.Errorf("spin=%v rep=%d: second worker never joined", spin, rep)
				}
			})
			if workers[0].Load() != 1 || workers[1].Load() != 1 {
				t.Fatalf("spin=%v rep=%d: workers ran %d,%d tasks", spin, rep, workers[0].Load(), workers[1].Load())
			}
		}
		p.Close()
	}
}

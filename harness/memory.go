package harness

import (
	"runtime"
	"runtime/metrics"
)

// heapInUse collects garbage and reads the bytes of live heap objects. Read
// right after the timed runs, it is the heap the cell holds in steady state
// (the engine allocates its buffers up front and nothing per run).
func heapInUse() uint64 {
	// Collect first: the auto kernel's discarded candidate plans (every
	// kernel's packed weights for every layer) are otherwise still counted
	// until the next cycle, which made the figure several times the
	// plan's real footprint.
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// allocCounter reads the cumulative count of heap allocations. Unlike
// runtime.ReadMemStats it does not stop the world, so it can bracket every
// timed inference; its sample slice is reused so that reading it allocates
// nothing itself.
type allocCounter struct{ s []metrics.Sample }

func newAllocCounter() *allocCounter {
	return &allocCounter{s: []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}}
}

func (c *allocCounter) read() uint64 {
	metrics.Read(c.s)
	return c.s[0].Value.Uint64()
}

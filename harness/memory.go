package harness

import (
	"fmt"
	"runtime"
	"runtime/metrics"

	"github.com/resbench/resbench/variants"
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

// CheckMemory refuses a cell whose activations cannot fit in this
// machine's memory: the input, output and residual of its largest layer
// in float32, a bound every plan needs. Without it a mistyped --size or
// --batch ended in the Go runtime's fatal out-of-memory error.
func CheckMemory(c Cell) error {
	total := physicalMemory()
	if total == 0 {
		return nil // unknown: let the allocation decide
	}
	spec, err := variants.Lookup(c.Model)
	if err != nil {
		return err
	}
	g, err := variants.BuildSpec(spec, variants.Options{Size: c.Size, Batch: c.Batch, Form: c.Form, StrideOn1x1: c.StrideOn1x1, CountOnly: true})
	if err != nil {
		return err
	}
	// In float64: at absurd sizes the element counts overflow an int.
	var largest float64
	for _, n := range g.Nodes {
		s := n.Shape
		largest = max(largest, float64(s.N)*float64(s.C)*float64(s.H)*float64(s.W))
	}
	if need := 3 * 4 * largest; need > float64(total) {
		return fmt.Errorf("%s at %dx%d, batch %d, needs at least %.1f GiB for its largest layer's activations; this machine has %.1f GiB: lower the size or the batch",
			spec.Name, c.Size, c.Size, c.Batch, need/(1<<30), float64(total)/(1<<30))
	}
	return nil
}

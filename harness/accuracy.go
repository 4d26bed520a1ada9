package harness

import (
	"fmt"

	"github.com/resbench/resbench/harness/engine"
	"github.com/resbench/resbench/variants/graph"
	"github.com/resbench/resbench/variants/oracle"
)

// LayerError is how far one layer's output is from the float64 oracle's,
// on the same weights and input.
type LayerError struct {
	Layer  string
	Op     string
	Kernel string // the algorithm that ran it
	engine.Diff
}

// LayerAccuracy runs the cell (unfused, so every layer of the model exists
// in the plan under its own name) with every activation kept, and compares
// each layer's output with the float64 oracle's. The errors accumulate
// from layer to layer, which shows where drift enters and how it grows;
// the conformance suite (kernels/kerneltest) measures each kernel's own
// error on single layers. calibrationLog, if set, receives the auto
// kernel's notes (engine.Config.Log).
func LayerAccuracy(c Cell, seed uint64, calibrationLog func(format string, args ...any)) ([]LayerError, error) {
	g, err := c.Build(seed)
	if err != nil {
		return nil, err
	}
	plan, err := engine.Compile(g, engine.Config{Kernel: c.Kernel, Threads: c.Threads, KeepAll: true, Log: calibrationLog})
	if err != nil {
		return nil, err
	}
	defer plan.Close()
	x := make([]float32, g.Input.Shape.Elems())
	RandomInput(x, seed)
	copy(plan.Input(), x)
	plan.Run()
	ref, err := oracle.NewThreads(g, max(c.Threads, 1))
	if err != nil {
		return nil, err
	}
	ref.Run(x)
	kernelOf := map[string]string{}
	for _, s := range plan.Steps {
		kernelOf[s.Node.Name] = s.Kernel
	}
	var out []LayerError
	for _, n := range g.Nodes[1:] {
		switch n.Op.(type) {
		case *graph.Conv2D, *graph.FullyConnected, *graph.Add, *graph.ChannelMul:
		default:
			continue // element-wise steps in between add nothing new
		}
		got, want := plan.ValueNCHW(n.Name), ref.Value(n.Name)
		if got == nil || want == nil {
			return nil, fmt.Errorf("layer %s missing from the plan or the oracle", n.Name)
		}
		out = append(out, LayerError{Layer: n.Name, Op: n.Op.Type(), Kernel: kernelOf[n.Name], Diff: engine.Compare(got, want)})
	}
	return out, nil
}

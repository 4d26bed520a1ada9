// Package harness measures resbench's cells. A cell is one combination of
// model, ResNeXt form, fusion set, kernel, input size, batch and thread
// count; measuring it means building the model, compiling a plan (package
// engine), running warm-up inferences that are not counted, then timed
// inferences, and reducing those to latency percentiles, throughput and
// memory figures. Results are written in Go's benchmark format
// (golang.org/x/perf/benchfmt), one line per timed inference, so that stock
// benchstat computes medians and confidence intervals from them.
package harness

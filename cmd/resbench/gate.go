package main

import (
	"io"
	"math"

	"github.com/resbench/resbench/ci"
)

func cmdGate(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("gate")
	maxSlowdown := fs.Float64("max-slowdown", 0.05, "minimum relative slowdown that fails the gate")
	alpha := fs.Float64("alpha", 0.05, "significance level")
	force := fs.Bool("force", false, "compare results from different CPUs or ISA tiers")
	filter := fs.String("filter", "", "benchmarks to gate on")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, f := range fs.Args() {
		if len(f) > 1 && f[0] == '-' {
			return usagef("gate: %q after the file names is read as a file; put flags before the files", f)
		}
	}
	if fs.NArg() != 2 {
		return usagef("gate: want BASELINE NEW, two result files")
	}
	// Written so that NaN fails too: every comparison with NaN is false,
	// and a NaN threshold would pass every regression.
	if !(*maxSlowdown >= 0 && *maxSlowdown < math.Inf(1)) {
		return usagef("gate: --max-slowdown %v: want a finite fraction ≥ 0 (0.05 = 5%%)", *maxSlowdown)
	}
	if !(*alpha > 0 && *alpha < 1) {
		return usagef("gate: --alpha %v: want a level between 0 and 1 (e.g. 0.05)", *alpha)
	}
	_, err := ci.Gate(stdout, fs.Arg(0), fs.Arg(1), ci.Options{MaxSlowdown: *maxSlowdown, Alpha: *alpha, Force: *force, Filter: *filter})
	return err
}

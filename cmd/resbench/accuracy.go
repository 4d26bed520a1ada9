package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/resbench/resbench/harness"
	"github.com/resbench/resbench/harness/engine"
	"github.com/resbench/resbench/variants"
)

func cmdAccuracy(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("accuracy")
	model := fs.String("model", "", "model name")
	kernel := fs.String("kernel", engine.KernelAuto, "kernel")
	form := fs.String("resnext-form", "c", "ResNeXt form")
	size := positiveFlag(fs, "size", 64, "input size")
	threads := positiveFlag(fs, "threads", 1, "threads")
	seed := fs.Uint64("seed", 1, "seed")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" {
		return usagef("accuracy: --model is required; try --model resnet50 (\"resbench models\" lists all)")
	}
	spec, err := variants.Lookup(*model)
	if err != nil {
		return err
	}
	if _, err := engine.ParseKernel(*kernel); err != nil {
		return err
	}
	f, err := variants.ParseForm(*form)
	if err != nil {
		return err
	}
	if f != variants.FormC && !spec.IsResNeXt() {
		return fmt.Errorf("--resnext-form applies to ResNeXt models only; %s has no grouped convolution", spec.Name)
	}
	if *size < variants.MinSize {
		return fmt.Errorf("--size %d is too small; the models need at least %d", *size, variants.MinSize)
	}
	c := harness.Cell{Model: spec.Name, Form: f, Fusion: "none", Kernel: *kernel, Size: *size, Batch: 1, Threads: *threads}
	fmt.Fprintf(stderr, "running %s and its float64 oracle...\n", c.Name())
	layers, err := harness.LayerAccuracy(c, *seed, stderrLog(stderr))
	if err != nil {
		return err
	}
	tol := engine.Tolerance(*kernel)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "# %s: every conv/FC/add/scale output against the float64 oracle (errors accumulate through the network); end-to-end tolerance of %s: rel L2 %.g\n", c.Name(), *kernel, tol)
	fmt.Fprintln(tw, "LAYER\tOP\tKERNEL\tMAX |ERR|\tMAX |REF|\tREL L2")
	worst, worstLayer := 0.0, ""
	for _, l := range layers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3g\t%.3g\t%.3g\n", l.Layer, l.Op, l.Kernel, l.MaxAbs, l.MaxRef, l.RelL2)
		if l.RelL2 > worst || worstLayer == "" {
			worst, worstLayer = l.RelL2, l.Layer
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "worst relative L2 error %.3g over %d layers (tolerance %.g)\n", worst, len(layers), tol)
	if worst > tol {
		return fmt.Errorf("layer %s is outside the %s tolerance: rel L2 %.3g > %.g; the table above shows where the error enters", worstLayer, *kernel, worst, tol)
	}
	return nil
}

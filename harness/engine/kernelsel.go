package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/direct"
	"github.com/resbench/resbench/kernels/im2col"
	"github.com/resbench/resbench/kernels/winograd"
	"github.com/resbench/resbench/variants/graph"
)

// Kernel names accepted by Config.Kernel.
const (
	KernelNaive      = "naive"
	KernelIm2col     = "im2col"
	KernelWinogradF2 = "winograd-f2"
	KernelWinogradF4 = "winograd-f4"
	KernelWinogradF6 = "winograd-f6"
	// KernelWinograd is the fastest of F2/F4/F6 per layer, measured.
	KernelWinograd = "winograd"
	KernelDirect   = "direct"
	// KernelAuto is the fastest correct kernel per layer, from a measured
	// calibration (see auto.go).
	KernelAuto = "auto"
)

// Kernels lists the valid Config.Kernel values.
func Kernels() []string {
	return []string{KernelNaive, KernelIm2col, KernelWinogradF2, KernelWinogradF4, KernelWinogradF6, KernelWinograd, KernelDirect, KernelAuto}
}

// ConvKernels lists the single-algorithm kernels a conv layer can be
// assigned (what auto chooses among).
func ConvKernels() []string {
	return []string{KernelIm2col, KernelWinogradF2, KernelWinogradF4, KernelWinogradF6, KernelDirect}
}

// ParseKernel validates a kernel name.
func ParseKernel(name string) (string, error) {
	if slices.Contains(Kernels(), name) {
		return name, nil
	}
	return "", fmt.Errorf("unknown kernel %q; valid kernels: %s", name, strings.Join(Kernels(), ", "))
}

// errUnsupported is what buildConv returns for a shape a kernel cannot run.
var errUnsupported = errors.New("unsupported shape")

// buildConv plans spec with one single-algorithm kernel.
func (p *Plan) buildConv(kernel string, spec kernels.ConvSpec) (kernels.Conv, error) {
	switch kernel {
	case KernelIm2col:
		return im2col.New(spec, p.gemm, p.pool)
	case KernelWinogradF2, KernelWinogradF4, KernelWinogradF6:
		tile := map[string]int{KernelWinogradF2: 2, KernelWinogradF4: 4, KernelWinogradF6: 6}[kernel]
		c, err := winograd.New(spec, tile, p.gemm, p.pool)
		if errors.Is(err, winograd.ErrUnsupported) {
			return nil, fmt.Errorf("%w: %v", errUnsupported, err)
		}
		return c, err
	case KernelDirect:
		c, err := direct.New(spec, p.pool)
		if errors.Is(err, direct.ErrUnsupported) {
			return nil, fmt.Errorf("%w: %v", errUnsupported, err)
		}
		return c, err
	}
	return nil, fmt.Errorf("kernel %q has no convolution", kernel)
}

// chooseConv plans the conv node n: with the kernel Config.Layers names for
// it (auto's choice), or else Config.Kernel; a kernel that cannot run the
// shape falls back to im2col, and the note says so.
//
// It returns the conv, the algorithm it runs (a ConvKernels name) and the
// note.
func (p *Plan) chooseConv(n *graph.Node, spec kernels.ConvSpec) (conv kernels.Conv, algo, note string, err error) {
	want := p.Config.Kernel
	if k, ok := p.Config.Layers[n.Name]; ok {
		want = k
	}
	if want == KernelWinograd {
		return p.bestWinograd(n, spec)
	}
	algo = want
	conv, err = p.buildConv(want, spec)
	if errors.Is(err, errUnsupported) {
		conv, err = p.buildConv(KernelIm2col, spec)
		algo, note = KernelIm2col, fmt.Sprintf("%s cannot run %v: fell back to im2col", want, &spec.Shape)
	}
	if err != nil {
		return nil, "", "", fmt.Errorf("node %s: %w", n.Name, err)
	}
	return conv, algo, note, nil
}

// bestWinograd measures F2, F4 and F6 on the layer and keeps the fastest.
func (p *Plan) bestWinograd(n *graph.Node, spec kernels.ConvSpec) (kernels.Conv, string, string, error) {
	var names []string
	var convs []kernels.Conv
	for _, k := range []string{KernelWinogradF2, KernelWinogradF4, KernelWinogradF6} {
		c, err := p.buildConv(k, spec)
		if errors.Is(err, errUnsupported) {
			break
		}
		if err != nil {
			return nil, "", "", fmt.Errorf("node %s: %w", n.Name, err)
		}
		names, convs = append(names, k), append(convs, c)
	}
	var best kernels.Conv
	var bestK string
	var bestT float64
	for i, t := range timeConvs(convs, spec.Shape) {
		if best == nil || t < bestT {
			best, bestK, bestT = convs[i], names[i], t
		}
	}
	if best == nil {
		c, err := p.buildConv(KernelIm2col, spec)
		if err != nil {
			return nil, "", "", fmt.Errorf("node %s: %w", n.Name, err)
		}
		return c, KernelIm2col, fmt.Sprintf("winograd cannot run %v: fell back to im2col", &spec.Shape), nil
	}
	return best, bestK, "fastest of winograd-f2/f4/f6 on this layer, measured", nil
}

// Package bench holds resbench's `go test -bench` entry points, for people
// who prefer
//
//	go test ./bench -run x -bench . -count 10 | benchstat -
//
// to the CLI. Names are key=value paths (BenchmarkSgemm/isa=avx2/m=1024/...,
// BenchmarkConv/kernel=im2col/layer=res2-1x1a/batch=1) so benchstat can
// slice them, and no name ends in -<digits>, which benchfmt would read as
// GOMAXPROCS. Every benchmark reports GFLOP/s (median call) and %peak: the
// median over calls of the call's rate over the FMA peak of the ISA tier in
// use, measured on the same threads in rounds just before and after that
// call (kernels/peak.Paired), since this shared machine's speed drifts by
// tens of percent over minutes. Each timed call follows an untimed one, so
// it sees the caches of a loop of calls, as ns/op does.
// BenchmarkSgemmSpeedup (the GEMMs) and BenchmarkConvSpeedup (every kernel
// and layer of BenchmarkConv) report x-vs-1-thread (median one-thread time
// over median two-thread time, calls alternated) and, beside it,
// fma-x-vs-1-thread: the FMA loop's own two-thread/one-thread ratio at the
// same moments, which tells a slow split from a host that was not giving
// this guest two whole cores. They also report the two median times
// (us-1-thread, us-2-threads), whose sums over a set of layers give that
// set's speedup as a network runs it.
package bench

import "github.com/resbench/resbench/kernels"

// Layer is a named convolution shape of the zoo's models at 224x224.
type Layer struct {
	Name string
	kernels.ConvShape
}

func conv(name string, inC, hw, outC, k, stride, groups int) Layer {
	s := kernels.ConvShape{N: 1, InC: inC, H: hw, W: hw, OutC: outC, KH: k, KW: k, StrideH: stride, StrideW: stride,
		PadH: k / 2, PadW: k / 2, Groups: groups}
	if err := s.Validate(); err != nil {
		panic(err)
	}
	return Layer{Name: name, ConvShape: s}
}

// ResNet50Layers is every distinct convolution of ResNet-50 (v1.5) at batch
// 1, named by stage in the Caffe style: resN-1x1a is a bottleneck's first
// 1x1, resN-3x3 its 3x3, resN-1x1c its last 1x1; the "a" block of a stage has
// the strided and projection variants.
var ResNet50Layers = []Layer{
	conv("conv1-7x7s2", 3, 224, 64, 7, 2, 1),
	conv("res2a-1x1a", 64, 56, 64, 1, 1, 1),
	conv("res2-1x1a", 256, 56, 64, 1, 1, 1),
	conv("res2-3x3", 64, 56, 64, 3, 1, 1),
	conv("res2-1x1c", 64, 56, 256, 1, 1, 1),
	conv("res3a-1x1a", 256, 56, 128, 1, 1, 1),
	conv("res3a-3x3s2", 128, 56, 128, 3, 2, 1),
	conv("res3a-proj", 256, 56, 512, 1, 2, 1),
	conv("res3-1x1a", 512, 28, 128, 1, 1, 1),
	conv("res3-3x3", 128, 28, 128, 3, 1, 1),
	conv("res3-1x1c", 128, 28, 512, 1, 1, 1),
	conv("res4a-1x1a", 512, 28, 256, 1, 1, 1),
	conv("res4a-3x3s2", 256, 28, 256, 3, 2, 1),
	conv("res4a-proj", 512, 28, 1024, 1, 2, 1),
	conv("res4-1x1a", 1024, 14, 256, 1, 1, 1),
	conv("res4-3x3", 256, 14, 256, 3, 1, 1),
	conv("res4-1x1c", 256, 14, 1024, 1, 1, 1),
	conv("res5a-1x1a", 1024, 14, 512, 1, 1, 1),
	conv("res5a-3x3s2", 512, 14, 512, 3, 2, 1),
	conv("res5a-proj", 1024, 14, 2048, 1, 2, 1),
	conv("res5-1x1a", 2048, 7, 512, 1, 1, 1),
	conv("res5-3x3", 512, 7, 512, 3, 1, 1),
	conv("res5-1x1c", 512, 7, 2048, 1, 1, 1),
}

// ResNeXt50GroupedLayers are ResNeXt-50 32x4d's grouped 3x3 convolutions.
var ResNeXt50GroupedLayers = []Layer{
	conv("rx2-3x3g32", 128, 56, 128, 3, 1, 32),
	conv("rx3a-3x3g32s2", 256, 56, 256, 3, 2, 32),
	conv("rx3-3x3g32", 256, 28, 256, 3, 1, 32),
	conv("rx4a-3x3g32s2", 512, 28, 512, 3, 2, 32),
	conv("rx4-3x3g32", 512, 14, 512, 3, 1, 32),
	conv("rx5a-3x3g32s2", 1024, 14, 1024, 3, 2, 32),
	conv("rx5-3x3g32", 1024, 7, 1024, 3, 1, 32),
}

package gemm

import "github.com/resbench/resbench/kernels/peak"

var _ = peak.FMAPeak

//go:noescape
func fmaLoopRef(n int)

//go:noescape
func bcastLoop(n int, p *float32)

//go:noescape
func loadLoop(n int, p *float32)

//go:noescape
func bcastFMALoop(n int, p *float32)

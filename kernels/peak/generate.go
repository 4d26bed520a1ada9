package peak

// peak_amd64.s is emitted by the same avo generator as the GEMM kernels
// (module kernels/gemm/internal/asmgen), from one code path per routine for
// AVX2 and AVX-512.
//go:generate sh -c "cd ../gemm/internal/asmgen && go run . -what peak -out ../../../peak/peak_amd64.s"

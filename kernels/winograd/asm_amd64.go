//go:build !noasm

package winograd

// transform_amd64.s (and its declarations, transform_amd64.go) are generated
// by the avo program in internal/asmgen.
//go:generate sh -c "cd internal/asmgen && go run . -out ../../transform_amd64.s -stubs ../../transform_amd64.go -pkg winograd"

// haveAsm reports whether this build has the AVX2 transforms.
const haveAsm = true

type inputFunc func(src *float32, offs *int, ngroups, rs int, dst *float32, ds int)
type outputFunc func(src *float32, ss, ngroups int, out *float32, offs *int, rs int, res *float32, bias float32)
type outputRawFunc func(src *float32, ss, ngroups int, dst *float32)

// The AVX2 transforms by tile size m.
var (
	inputAVX2 = [7]inputFunc{2: winoInputF2AVX2, 4: winoInputF4AVX2, 6: winoInputF6AVX2}
	// outputAVX2[m][variant], variant = 2·residual + relu.
	outputAVX2 = [7][4]outputFunc{
		2: {winoOutputF2AVX2, winoOutputF2ReluAVX2, winoOutputF2ResAVX2, winoOutputF2ResReluAVX2},
		4: {winoOutputF4AVX2, winoOutputF4ReluAVX2, winoOutputF4ResAVX2, winoOutputF4ResReluAVX2},
		6: {winoOutputF6AVX2, winoOutputF6ReluAVX2, winoOutputF6ResAVX2, winoOutputF6ResReluAVX2},
	}
	outputRawAVX2 = [7]outputRawFunc{2: winoOutputRawF2AVX2, 4: winoOutputRawF4AVX2, 6: winoOutputRawF6AVX2}
)

package winograd

// The signatures of the group transforms (see winoInputF2AVX2,
// winoOutputF2AVX2 and winoOutputRawF2AVX2).
type (
	inputFunc     func(src *float32, offs *int, ngroups, rs int, dst *float32, ds int)
	outputFunc    func(src *float32, ss, ngroups int, out *float32, offs *int, rs int, res *float32, bias float32)
	outputRawFunc func(src *float32, ss, ngroups int, dst *float32)
)

// The group transforms by tile size m: the AVX2 assembly, or with noasm or
// off amd64 its pure-Go twins (transform_generic.go). The Conv calls them
// only if c.asm, which needs haveAsm: noasm builds keep the per-tile
// pure-Go path, and the twins are there for the tests and the convention.
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
